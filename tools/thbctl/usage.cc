#include "tools/thbctl/usage.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/client_flags.h"
#include "tools/thbctl/filter_flags.h"

namespace thb::thbctl {
namespace {

// The usage text's width; the paragraph on the filter flags is wrapped to it.
constexpr size_t kUsageWidth = 77;

constexpr char kUsageBeforeFilters[] =
    R"(the command-line client of the thb services.

Usage: thbctl [flags] COMMAND [ARGS]

Commands:
  import FILE              Import a dataset's records (.txtpb, or .json) in
                           batches; a re-run writes nothing. [--batch_size]
  export                   Every record, as a dataset in JSON or as CSV.
                           [--format=json|csv] [--output=FILE]
  records list             The records the filter flags select.
                           [--page_size] [--format=table|json|csv]
  records get ID           One record.
  records delete ID        Delete a record. [--etag]
  countries list           Countries. [--emn_status=MEMBER,OBSERVER]
                           [--as_of=YYYY-MM-DD] [--eu | --non_eu]
                           [--region=SAHEL]
  countries get CODE       One country; GR and GB answer EL and UK. [--as_of]
  regions [list | get ID]  Regions of third countries.
  organisations [list | get ID]
                           Organisations countries cooperate with.
  audit                    Audit events of the writes, newest first (callers
                           that may read the audit log only).
                           [--service=registry,cooperation] [--resource]
                           [--principal] [--since] [--until] [--limit=100]
                           [--format=table|json]
  check [FILE]             The data-quality check of a dataset's statements
                           (default data/study.txtpb, or --dataset) against
                           the live records; exit 1 on an ERROR finding.
                           [--offline] [--iso_codes]
  help                     This text.

Statistics (the aggregator; [--as_of=YYYY-MM-DD] [--min_revision=N]
[--format=table|json|csv] on each):
  stats count              Countries with records the filter flags select,
                           or a --query=JSON (a thb.stats.v1.CountryQuery:
                           filter, all_of, any_of, difference).
  stats breakdown --by=DIMENSION
                           Counts per value of a dimension.
                           [--measure=countries|records] [filter|--query]
  stats crosstab --rows=DIMENSION --columns=DIMENSION
                           Counts per pair of values. [--measure]
                           [filter|--query]
  stats share --part=JSON --whole=JSON
                           "5 of 9, 55.6%"; or --part_footnote=N
                           --whole_footnote=N: the queries of the dataset's
                           statements. [--dataset]
  stats explain            Per country of the answer, the records behind it
                           and their sources. [filter|--query]
  stats figures            The study's figures, computed live: one row per
                           statement of the dataset, and the shares of the
                           statements within others. [--dataset] [--check:
                           compare with the published figures, exit 1 on a
                           difference]
  Dimensions: kind, thematic_area (area), form, partner, partner_kind,
  target_region (region), reporting_country (country), year, tag,
  emn_status, or their full names (DIMENSION_TARGET_REGION).

)";

constexpr char kUsageAfterFilters[] = R"(
Output: --format=table|json|csv; lists and gets print tables by default.

Services:
  --registry     (THB_REGISTRY_ADDRESS, default 127.0.0.1:50051)
  --cooperation  (THB_COOPERATION_ADDRESS, default 127.0.0.1:50052)
  --aggregator   (THB_AGGREGATOR_ADDRESS, default 127.0.0.1:50053)
  A comma-separated list of addresses is spread round-robin.
  --timeout      Deadline of each call (default 30s).

Security: every call is TLS. --tls_ca (THB_TLS_CA) verifies the servers;
  --tls_cert and --tls_key (THB_TLS_CERT, THB_TLS_KEY) or --token
  (THB_TOKEN, a JWT) say who you are. --insecure (THB_INSECURE) speaks
  plaintext to servers started with --insecure.

Exit codes: 0 done, 1 an error or a check with errors, 2 a usage error.
)";

}  // namespace

const std::vector<EnvBinding>& EnvironmentBindings() {
  static const auto* const bindings = new std::vector<EnvBinding>([] {
    std::vector<EnvBinding> all = {{"registry", "THB_REGISTRY_ADDRESS"},
                                   {"cooperation", "THB_COOPERATION_ADDRESS"},
                                   {"aggregator", "THB_AGGREGATOR_ADDRESS"}};
    for (EnvBinding& binding : ClientSecurityBindings()) {
      all.push_back(std::move(binding));
    }
    return all;
  }());
  return *bindings;
}

std::string Usage() {
  std::vector<EnvBinding> listed = EnvironmentBindings();
  listed.push_back({"token", "THB_TOKEN"});
  return absl::StrCat(kUsageBeforeFilters, FilterFlagsUsage(kUsageWidth),
                      kUsageAfterFilters, "\n", EnvironmentUsage(listed));
}

}  // namespace thb::thbctl
