// thbctl: the command-line client of the thb services. This file reads the
// flags and dispatches to the commands; they live in the *_command.cc files.

#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/client_flags.h"
#include "common/config.h"
#include "common/string_view.h"
#include "services/registry/reference_data.h"
#include "tools/thbctl/cli.h"
#include "tools/thbctl/commands.h"
#include "tools/thbctl/filter_flags.h"
#include "tools/thbctl/flag_values.h"
#include "tools/thbctl/output.h"
#include "tools/thbctl/usage.h"

// Where the services are.
ABSL_FLAG(std::string, registry, "127.0.0.1:50051",
          "Address of the registry (env THB_REGISTRY_ADDRESS).");
ABSL_FLAG(std::string, cooperation, "127.0.0.1:50052",
          "Address of the cooperation service (env THB_COOPERATION_ADDRESS).");
ABSL_FLAG(std::string, aggregator, "127.0.0.1:50053",
          "Address of the aggregator (env THB_AGGREGATOR_ADDRESS); a "
          "comma-separated list is spread round-robin.");
THB_CLIENT_SECURITY_FLAGS();
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "Deadline of each call.");

// Output.
ABSL_FLAG(std::string, format, "",
          "table, json or csv; lists and gets default to table, export to "
          "json.");
ABSL_FLAG(std::string, output, "",
          "export: the file to write (default: "
          "standard output).");

// Commands.
ABSL_FLAG(int, batch_size, 5000, "import: records per BatchCreateRecords.");
ABSL_FLAG(int, page_size, 1000, "records list: records per ListRecords page.");
ABSL_FLAG(std::string, etag, "",
          "records delete: delete only if the record still has this etag.");
ABSL_FLAG(std::string, dataset, "",
          "check, stats share and stats figures: the dataset file (default "
          "data/study.txtpb).");
ABSL_FLAG(bool, offline, false,
          "check: the file's own records and the reference data instead of "
          "the services.");
ABSL_FLAG(std::string, iso_codes, thb::registry::kDefaultIsoCodesPath,
          "check --offline: ISO 3166-1 of the iso-codes package.");

// Selection: records list and countries list.
THBCTL_FILTER_FLAGS(THBCTL_DEFINE_FILTER_FLAG)
ABSL_FLAG(std::string, as_of, "",
          "The date EMN statuses are judged at, YYYY-MM-DD (default today).");
ABSL_FLAG(bool, eu, false, "countries list: only EU Member States.");
ABSL_FLAG(bool, non_eu, false, "countries list: only non-members of the EU.");

// Statistics: thbctl stats.
ABSL_FLAG(std::string, query, "",
          "stats: a thb.stats.v1.CountryQuery in protobuf JSON (all_of, "
          "any_of, difference), instead of the filter flags.");
ABSL_FLAG(int64_t, min_revision, 0,
          "stats: answer only once the aggregator has this cooperation "
          "revision (read your writes).");
ABSL_FLAG(std::string, by, "",
          "stats breakdown: the dimension: kind, thematic_area (area), form, "
          "partner, partner_kind, target_region (region), reporting_country "
          "(country), year, tag, emn_status.");
ABSL_FLAG(std::string, rows, "", "stats crosstab: the dimension of the rows.");
ABSL_FLAG(std::string, columns, "",
          "stats crosstab: the dimension of the columns.");
ABSL_FLAG(std::string, measure, "",
          "stats breakdown and crosstab: count countries (default) or "
          "records.");
ABSL_FLAG(std::string, part, "",
          "stats share: the part, a CountryQuery in JSON.");
ABSL_FLAG(std::string, whole, "",
          "stats share: the whole, a CountryQuery in JSON.");
ABSL_FLAG(std::optional<int>, part_footnote, std::nullopt,
          "stats share: the part is the query of the dataset's statement "
          "with this footnote.");
ABSL_FLAG(std::optional<int>, whole_footnote, std::nullopt,
          "stats share: the whole is the query of the dataset's statement "
          "with this footnote.");
// thbctl audit.
ABSL_FLAG(std::vector<std::string>, service, {},
          "audit: registry, cooperation or both (default both).");
ABSL_FLAG(std::string, resource, "",
          "audit: only events about this resource (records/fn15-at, "
          "countries/EL).");
ABSL_FLAG(std::string, principal, "", "audit: only events of this principal.");
ABSL_FLAG(std::string, since, "",
          "audit: only events at or after this time (RFC 3339, or a duration "
          "back from now: 24h).");
ABSL_FLAG(std::string, until, "",
          "audit: only events before this time (RFC 3339, or a duration back "
          "from now).");
ABSL_FLAG(int, limit, 100, "audit: most events printed, newest first.");

ABSL_FLAG(bool, check, false,
          "stats figures: compare with the published figures; exit 1 on a "
          "difference.");

namespace thb::thbctl {
namespace {

using Args = std::vector<std::string>;

absl::Status ExpectArgs(const Args& args, size_t count,
                        std::string_view usage) {
  if (args.size() == count) return absl::OkStatus();
  return UsageError(absl::StrCat("usage: thbctl ", ToAbsl(usage)));
}

absl::StatusOr<Format> FormatFlag(const std::vector<Format>& accepted,
                                  Format fallback) {
  return ParseFormat(absl::GetFlag(FLAGS_format), accepted, fallback);
}

// The values of a filter flag as SelectionFlags holds them.
std::vector<std::string> FilterValues(const FilterFlag& filter) {
  const absl::CommandLineFlag& flag = *absl::FindCommandLineFlag(filter.name);
  if (filter.value != FilterValue::kYear) {
    return *flag.TryGet<std::vector<std::string>>();
  }
  const int year = *flag.TryGet<int>();
  if (year == 0) return {};
  return {absl::StrCat(year)};
}

SelectionFlags ReadSelectionFlags() {
  SelectionFlags flags;
  for (const FilterFlag& filter : kFilterFlags) {
    std::vector<std::string> values = FilterValues(filter);
    if (!values.empty()) flags.filter.emplace(filter.name, std::move(values));
  }
  flags.as_of = absl::GetFlag(FLAGS_as_of);
  flags.eu = absl::GetFlag(FLAGS_eu);
  flags.non_eu = absl::GetFlag(FLAGS_non_eu);
  return flags;
}

absl::Status RunHelp(const Args& /*args*/, Clients& /*clients*/,
                     std::ostream& out, std::ostream& /*err*/) {
  out << "thbctl: " << Usage();
  return absl::OkStatus();
}

absl::Status RunImport(const Args& args, Clients& clients, std::ostream& out,
                       std::ostream& err) {
  if (auto status = ExpectArgs(args, 2, "import FILE [--batch_size=N]");
      !status.ok()) {
    return status;
  }
  ImportOptions options;
  options.file = args[1];
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.progress = isatty(STDERR_FILENO) == 1;
  return Import(clients, options, out, err);
}

absl::Status RunExport(const Args& args, Clients& clients, std::ostream& out,
                       std::ostream& /*err*/) {
  if (auto status =
          ExpectArgs(args, 1, "export [--format=json|csv] [--output=FILE]");
      !status.ok()) {
    return status;
  }
  auto format = FormatFlag({Format::kJson, Format::kCsv}, Format::kJson);
  if (!format.ok()) return format.status();
  return Export(clients, {*format, absl::GetFlag(FLAGS_output)}, out);
}

absl::Status RunRecords(const Args& args, Clients& clients, std::ostream& out,
                        std::ostream& /*err*/) {
  const std::string sub = args.size() > 1 ? args[1] : "";
  auto format =
      FormatFlag({Format::kTable, Format::kJson, Format::kCsv}, Format::kTable);
  if (!format.ok()) return format.status();
  if (sub == "list") {
    if (auto s = ExpectArgs(args, 2, "records list [filter flags]"); !s.ok()) {
      return s;
    }
    const int page_size = absl::GetFlag(FLAGS_page_size);
    if (page_size < 1 || page_size > 10000) {
      return UsageError(
          absl::StrCat("--page_size: ", page_size, " is outside 1..10000"));
    }
    auto request = ListRecordsRequestOf(ReadSelectionFlags());
    if (!request.ok()) return request.status();
    request->set_page_size(page_size);
    return ListRecords(clients, *std::move(request), *format, out);
  }
  if (sub == "get") {
    if (auto s = ExpectArgs(args, 3, "records get ID"); !s.ok()) return s;
    return GetRecord(clients, args[2], *format, out);
  }
  if (sub == "delete") {
    if (auto s = ExpectArgs(args, 3, "records delete ID [--etag=ETAG]");
        !s.ok()) {
      return s;
    }
    return DeleteRecord(clients, args[2], absl::GetFlag(FLAGS_etag), out);
  }
  return UsageError("usage: thbctl records list|get ID|delete ID");
}

absl::Status RunCountries(const Args& args, Clients& clients, std::ostream& out,
                          std::ostream& /*err*/) {
  const std::string sub = args.size() > 1 ? args[1] : "list";
  auto format = FormatFlag({Format::kTable, Format::kJson}, Format::kTable);
  if (!format.ok()) return format.status();
  if (sub == "list") {
    if (args.size() > 2) {
      return UsageError(
          "usage: thbctl countries list [--emn_status=...] "
          "[--as_of=YYYY-MM-DD] [--eu|--non_eu] [--region=ID]");
    }
    auto request = ListCountriesRequestOf(ReadSelectionFlags());
    if (!request.ok()) return request.status();
    return ListCountries(clients, *std::move(request), *format, out);
  }
  if (sub == "get") {
    if (auto s = ExpectArgs(args, 3, "countries get CODE [--as_of=YYYY-MM-DD]");
        !s.ok()) {
      return s;
    }
    const std::string as_of = absl::GetFlag(FLAGS_as_of);
    if (auto s = CheckDateFlag("--as_of", as_of); !s.ok()) return s;
    return GetCountry(clients, args[2], as_of, *format, out);
  }
  return UsageError("usage: thbctl countries [list|get CODE]");
}

// regions and organisations: list, or get ID.
template <typename List, typename Get>
absl::Status RunListOrGet(const Args& args, Clients& clients, std::ostream& out,
                          List list, Get get) {
  const std::string sub = args.size() > 1 ? args[1] : "list";
  auto format = FormatFlag({Format::kTable, Format::kJson}, Format::kTable);
  if (!format.ok()) return format.status();
  if (sub == "list" && args.size() <= 2) return list(clients, *format, out);
  if (sub == "get" && args.size() == 3) {
    return get(clients, args[2], *format, out);
  }
  return UsageError(absl::StrCat("usage: thbctl ", args[0], " [list|get ID]"));
}

absl::Status RunRegions(const Args& args, Clients& clients, std::ostream& out,
                        std::ostream& /*err*/) {
  return RunListOrGet(args, clients, out, ListRegions, GetRegion);
}

absl::Status RunOrganisations(const Args& args, Clients& clients,
                              std::ostream& out, std::ostream& /*err*/) {
  return RunListOrGet(args, clients, out, ListOrganisations, GetOrganisation);
}

absl::Status RunCheck(const Args& args, Clients& clients, std::ostream& out,
                      std::ostream& /*err*/) {
  if (args.size() > 2) {
    return UsageError("usage: thbctl check [FILE] [--offline]");
  }
  const std::string flag = absl::GetFlag(FLAGS_dataset);
  if (args.size() == 2 && !flag.empty() && flag != args[1]) {
    return UsageError(absl::StrCat("check: the file is either ", args[1],
                                   " or --dataset=", flag, ", not both"));
  }
  CheckOptions options;
  options.file = args.size() == 2 ? args[1]
                 : flag.empty()   ? kDefaultDataset
                                  : flag;
  options.offline = absl::GetFlag(FLAGS_offline);
  options.iso_codes = absl::GetFlag(FLAGS_iso_codes);
  return Check(clients, options, out);
}

absl::Status RunStats(const Args& args, Clients& clients, std::ostream& out,
                      std::ostream& /*err*/) {
  auto format =
      FormatFlag({Format::kTable, Format::kJson, Format::kCsv}, Format::kTable);
  if (!format.ok()) return format.status();
  StatsOptions options;
  options.selection = ReadSelectionFlags();
  options.query = absl::GetFlag(FLAGS_query);
  options.by = absl::GetFlag(FLAGS_by);
  options.rows = absl::GetFlag(FLAGS_rows);
  options.columns = absl::GetFlag(FLAGS_columns);
  options.measure = absl::GetFlag(FLAGS_measure);
  options.part = absl::GetFlag(FLAGS_part);
  options.whole = absl::GetFlag(FLAGS_whole);
  options.part_footnote = absl::GetFlag(FLAGS_part_footnote);
  options.whole_footnote = absl::GetFlag(FLAGS_whole_footnote);
  options.min_revision = absl::GetFlag(FLAGS_min_revision);
  options.dataset = absl::GetFlag(FLAGS_dataset);
  options.check = absl::GetFlag(FLAGS_check);
  options.format = *format;
  return Stats(clients, args, options, out);
}

struct Command {
  const char* name;
  absl::Status (*run)(const Args& args, Clients& clients, std::ostream& out,
                      std::ostream& err);
};

absl::Status RunAudit(const Args& args, Clients& clients, std::ostream& out,
                      std::ostream& /*err*/) {
  if (auto status =
          ExpectArgs(args, 1,
                     "audit [--service=registry,cooperation] [--resource=NAME] "
                     "[--principal=P] [--since=T] [--until=T] [--limit=N]");
      !status.ok()) {
    return status;
  }
  AuditOptions options;
  auto format = FormatFlag({Format::kTable, Format::kJson}, Format::kTable);
  if (!format.ok()) return format.status();
  options.format = *format;
  const std::vector<std::string> services = absl::GetFlag(FLAGS_service);
  if (!services.empty()) {
    options.registry = options.cooperation = false;
    for (const std::string& service : services) {
      if (service == "registry") {
        options.registry = true;
      } else if (service == "cooperation") {
        options.cooperation = true;
      } else {
        return UsageError(absl::StrCat(
            "--service: \"", service,
            "\" is not a service with an audit log (registry, cooperation)"));
      }
    }
  }
  options.limit = absl::GetFlag(FLAGS_limit);
  if (options.limit < 1) {
    return UsageError(
        absl::StrCat("--limit: ", options.limit, " is not a positive number"));
  }
  options.request.set_resource(absl::GetFlag(FLAGS_resource));
  options.request.set_principal(absl::GetFlag(FLAGS_principal));
  const absl::Time now = absl::Now();
  if (const std::string since = absl::GetFlag(FLAGS_since); !since.empty()) {
    auto time = AuditTimeFlag("--since", since, now);
    if (!time.ok()) return time.status();
    *options.request.mutable_start_time() = *time;
  }
  if (const std::string until = absl::GetFlag(FLAGS_until); !until.empty()) {
    auto time = AuditTimeFlag("--until", until, now);
    if (!time.ok()) return time.status();
    *options.request.mutable_end_time() = *time;
  }
  return ListAudit(clients, options, out);
}

constexpr Command kCommands[] = {
    {"help", RunHelp},
    {"import", RunImport},
    {"export", RunExport},
    {"records", RunRecords},
    {"countries", RunCountries},
    {"regions", RunRegions},
    {"organisations", RunOrganisations},
    {"check", RunCheck},
    {"audit", RunAudit},
    {"stats", RunStats},
};

absl::Status Dispatch(const Args& args, Clients& clients, std::ostream& out,
                      std::ostream& err) {
  if (args.empty()) return UsageError("no command given");
  for (const Command& command : kCommands) {
    if (args[0] == command.name) return command.run(args, clients, out, err);
  }
  std::vector<std::string> names;
  for (const Command& command : kCommands) names.push_back(command.name);
  return UsageError(absl::StrCat("unknown command \"", args[0],
                                 "\"; commands: ", absl::StrJoin(names, ", ")));
}

// absl's own --help and friends, which it handles apart from other flags.
bool IsUsageFlag(std::string_view name) {
  for (const char* usage_flag :
       {"help", "helpfull", "helpshort", "helppackage", "helpon", "helpmatch",
        "version", "only_check_args"}) {
    if (name == usage_flag) return true;
  }
  return false;
}

// absl exits with status 1 on an unknown flag or a value it cannot parse;
// thbctl keeps 1 for errors of the services and gives usage errors 2, so it
// checks the command line first, as absl will read it.
absl::Status CheckFlags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    const size_t equals = arg.find('=');
    const std::string name(arg.substr(0, equals));
    if (IsUsageFlag(name)) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::StartsWith(name, "no") &&
        equals == std::string_view::npos) {
      absl::CommandLineFlag* negated =
          absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>()) continue;
    }
    if (flag == nullptr) {
      return UsageError(absl::StrCat("unknown flag --", name));
    }
    std::string value;
    if (equals != std::string_view::npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (flag->IsOfType<bool>()) {
      continue;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return UsageError(absl::StrCat("--", name, " needs a value"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return UsageError(absl::StrCat("--", name, ": ", error));
    }
  }
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(Usage());
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "thbctl/");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  usage_config.normalize_filename = [](absl::string_view file) {
    const size_t start = file.rfind("tools/thbctl/");
    return std::string(start == absl::string_view::npos ? file
                                                        : file.substr(start));
  };
  absl::SetFlagsUsageConfig(usage_config);

  if (absl::Status status = ApplyEnvironment(EnvironmentBindings());
      !status.ok()) {
    return ReportError(UsageError(ToStd(status.message())), std::cerr);
  }
  if (absl::Status status = CheckFlags(argc, argv); !status.ok()) {
    return ReportError(status, std::cerr);
  }
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  const Args args(positional.begin() + 1, positional.end());
  if (args.empty()) {
    std::cerr << "thbctl: " << Usage();
    return kExitUsage;
  }

  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (timeout <= absl::ZeroDuration()) {
    return ReportError(UsageError("--timeout: must be positive"), std::cerr);
  }
  Endpoints endpoints;
  endpoints.registry = absl::GetFlag(FLAGS_registry);
  endpoints.cooperation = absl::GetFlag(FLAGS_cooperation);
  endpoints.aggregator = absl::GetFlag(FLAGS_aggregator);
  endpoints.timeout = timeout;
  for (const auto& [flag, address] :
       {std::pair{"--registry", endpoints.registry},
        std::pair{"--cooperation", endpoints.cooperation},
        std::pair{"--aggregator", endpoints.aggregator}}) {
    if (address.empty()) {
      return ReportError(UsageError(absl::StrCat(flag, ": no address")),
                         std::cerr);
    }
  }
  auto credentials = MakeChannelCredentials(ClientSecurityFromFlags());
  if (!credentials.ok()) {
    return ReportError(UsageError(std::string(credentials.status().message())),
                       std::cerr);
  }
  endpoints.credentials = std::move(*credentials);
  Clients clients(endpoints);
  const absl::Status status = Dispatch(args, clients, std::cout, std::cerr);
  std::cout.flush();
  if (!status.ok()) return ReportError(status, std::cerr);
  return kExitOk;
}

}  // namespace
}  // namespace thb::thbctl

int main(int argc, char** argv) { return thb::thbctl::Main(argc, argv); }
