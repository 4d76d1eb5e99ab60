// thbctl check: the data-quality check of a dataset's statements against
// the records the cooperation service holds, with EMN statuses from the
// registry.

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "domain/dataset.h"
#include "domain/quality.h"
#include "services/registry/client/registry_snapshot.h"
#include "services/registry/reference_data.h"
#include "tools/thbctl/commands.h"

namespace thb::thbctl {
namespace {

using cooperation::v1::CooperationRecord;

constexpr int kPageSize = 1000;

void AddCountry(registry::v1::Country country,
                registry::RegistrySnapshot& snapshot) {
  if (!country.iso_alpha2().empty() && country.iso_alpha2() != country.code()) {
    snapshot.aliases[country.iso_alpha2()] = country.code();
  }
  const std::string code = country.code();
  snapshot.countries[code] = std::move(country);
}

std::string Plural(size_t count, const char* noun) {
  return absl::StrCat(count, " ", noun, count == 1 ? "" : "s");
}

// What the check compares with: the records, the countries, and words
// saying where they come from.
struct Evidence {
  std::vector<CooperationRecord> records;
  registry::RegistrySnapshot registry;
  std::string origin;
};

absl::StatusOr<Evidence> Offline(const cooperation::v1::Dataset& dataset,
                                 const std::string& iso_codes) {
  Evidence evidence;
  evidence.records.assign(dataset.records().begin(), dataset.records().end());
  auto reference = registry::LoadReferenceData(iso_codes);
  if (!reference.ok()) return reference.status();
  for (auto& country : reference->countries) {
    AddCountry(std::move(country), evidence.registry);
  }
  evidence.origin = absl::StrCat(
      "the file's own records, EMN statuses of the "
      "reference data");
  return evidence;
}

absl::StatusOr<Evidence> Live(Clients& clients) {
  Evidence evidence;
  cooperation::v1::ListRecordsRequest records;
  records.set_page_size(kPageSize);
  int64_t records_revision = 0;
  absl::Status listed = clients.cooperation().ForEachPage(
      &CooperationStub::ListRecords, records,
      [&](cooperation::v1::ListRecordsResponse& page) {
        records_revision = page.revision();
        for (auto& record : *page.mutable_records()) {
          evidence.records.push_back(std::move(record));
        }
        return absl::OkStatus();
      });
  if (!listed.ok()) return listed;

  registry::v1::ListCountriesRequest countries;
  countries.set_page_size(kPageSize);
  listed = clients.registry().ForEachPage(
      &RegistryStub::ListCountries, countries,
      [&](registry::v1::ListCountriesResponse& page) {
        evidence.registry.revision = page.revision();
        for (auto& country : *page.mutable_countries()) {
          AddCountry(std::move(country), evidence.registry);
        }
        return absl::OkStatus();
      });
  if (!listed.ok()) return listed;
  evidence.origin = absl::StrCat(
      "the cooperation service's records at revision ", records_revision,
      ", EMN statuses of the registry at revision ",
      evidence.registry.revision);
  return evidence;
}

}  // namespace

absl::Status Check(Clients& clients, const CheckOptions& options,
                   std::ostream& out) {
  auto dataset = domain::LoadDataset(options.file);
  if (!dataset.ok()) return dataset.status();
  auto evidence =
      options.offline ? Offline(*dataset, options.iso_codes) : Live(clients);
  if (!evidence.ok()) return evidence.status();

  const registry::RegistrySnapshot& registry = evidence->registry;
  const domain::StatusOnDay status_on = [&registry](const std::string& code,
                                                    absl::CivilDay day) {
    const auto canonical = registry.CanonicalCountry(code);
    return canonical.has_value() ? registry.StatusOn(*canonical, day)
                                 : registry::v1::EMN_STATUS_NONE;
  };
  const std::vector<domain::Finding> findings =
      domain::CheckDataset(*dataset, evidence->records, status_on);

  size_t errors = 0;
  for (const domain::Finding& finding : findings) {
    if (finding.severity == domain::Severity::kError) ++errors;
    out << domain::FormatFinding(finding) << "\n";
  }
  out << "checked " << Plural(dataset->statements_size(), "statement") << " of "
      << options.file << " against "
      << Plural(evidence->records.size(), "record") << " (" << evidence->origin
      << "): " << Plural(errors, "error") << ", "
      << Plural(findings.size() - errors, "warning") << "\n";
  if (errors > 0) {
    return ReportedFailure(
        absl::StrCat("the data-quality check found ", Plural(errors, "error")));
  }
  return absl::OkStatus();
}

}  // namespace thb::thbctl
