// thbctl stats: the aggregator's answers. Counts of countries, breakdowns
// and cross-tabulations by a dimension, shares, the records behind an
// answer, and the study's figures table computed live and checked against
// the published figures.
// This file reads the subcommand and checks which flags it takes; each
// subcommand lives in its own stats_*.cc.

#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/string_view.h"
#include "tools/thbctl/commands.h"
#include "tools/thbctl/filter_flags.h"
#include "tools/thbctl/flag_values.h"
#include "tools/thbctl/stats_common.h"

namespace thb::thbctl {
namespace {

using stats_command::Breakdown;
using stats_command::Count;
using stats_command::Crosstab;
using stats_command::Explain;
using stats_command::Figures;
using stats_command::Share;

// The flags only some subcommands take, and whether each was given.
std::vector<std::pair<std::string, bool>> GivenFlags(
    const StatsOptions& options) {
  const SelectionFlags& s = options.selection;
  std::vector<std::pair<std::string, bool>> given;
  for (const FilterFlag& flag : kFilterFlags) {
    given.push_back({flag.flag, !s.Filter(flag.name).empty()});
  }
  given.insert(given.end(),
               {{"--eu", s.eu},
                {"--non_eu", s.non_eu},
                {"--query", !options.query.empty()},
                {"--by", !options.by.empty()},
                {"--rows", !options.rows.empty()},
                {"--columns", !options.columns.empty()},
                {"--measure", !options.measure.empty()},
                {"--part", !options.part.empty()},
                {"--whole", !options.whole.empty()},
                {"--part_footnote", options.part_footnote.has_value()},
                {"--whole_footnote", options.whole_footnote.has_value()},
                {"--dataset", !options.dataset.empty()},
                {"--check", options.check}});
  return given;
}

// The filter flags, --eu, --non_eu and --query: what count, breakdown,
// crosstab and explain select countries by.
bool IsSelectionFlag(const std::string& flag) {
  for (const FilterFlag& filter : kFilterFlags) {
    if (flag == filter.flag) return true;
  }
  return flag == "--eu" || flag == "--non_eu" || flag == "--query";
}

struct Subcommand {
  const char* name;
  const char* usage;
  // Whether it takes the filter flags and --query.
  bool selects;
  // The flags of its own; every subcommand takes --as_of, --min_revision
  // and --format.
  const char* flags;
  absl::Status (*run)(Clients& clients, const StatsOptions& options,
                      std::ostream& out);
};

constexpr Subcommand kSubcommands[] = {
    {"count", "count [filter flags | --query=JSON]", true, "", Count},
    {"breakdown",
     "breakdown --by=DIMENSION [--measure=countries|records] "
     "[filter flags | --query=JSON]",
     true, "--by --measure", Breakdown},
    {"crosstab",
     "crosstab --rows=DIMENSION --columns=DIMENSION "
     "[--measure=countries|records] [filter flags | --query=JSON]",
     true, "--rows --columns --measure", Crosstab},
    {"share",
     "share --part=JSON|--part_footnote=N --whole=JSON|--whole_footnote=N "
     "[--dataset=FILE]",
     false, "--part --whole --part_footnote --whole_footnote --dataset", Share},
    {"explain", "explain [filter flags | --query=JSON]", true, "", Explain},
    {"figures", "figures [--dataset=FILE] [--check]", false,
     "--dataset --check", Figures},
};

bool Listed(std::string_view list, const std::string& flag) {
  return absl::StrContains(absl::StrCat(" ", ToAbsl(list), " "),
                           absl::StrCat(" ", flag, " "));
}

bool Takes(const Subcommand& subcommand, const std::string& flag) {
  return Listed(subcommand.flags, flag) ||
         (subcommand.selects && IsSelectionFlag(flag));
}

}  // namespace

absl::Status Stats(Clients& clients, const std::vector<std::string>& args,
                   const StatsOptions& options, std::ostream& out) {
  std::vector<std::string> names;
  for (const Subcommand& subcommand : kSubcommands) {
    names.push_back(subcommand.name);
  }
  const std::string usage = absl::StrCat("usage: thbctl stats ",
                                         absl::StrJoin(names, "|"), " [flags]");
  if (args.size() < 2) return UsageError(usage);
  const Subcommand* found = nullptr;
  for (const Subcommand& subcommand : kSubcommands) {
    if (args[1] == subcommand.name) found = &subcommand;
  }
  if (found == nullptr) {
    return UsageError(
        absl::StrCat("unknown stats command \"", args[1], "\"; ", usage));
  }
  const std::string own_usage =
      absl::StrCat("usage: thbctl stats ", found->usage);
  if (args.size() > 2) {
    return UsageError(
        absl::StrCat("unexpected argument \"", args[2], "\"; ", own_usage));
  }
  for (const auto& [flag, given] : GivenFlags(options)) {
    if (given && !Takes(*found, flag)) {
      return UsageError(absl::StrCat(flag, " does not apply to stats ",
                                     found->name, "; ", own_usage));
    }
  }
  if (auto status = CheckDateFlag("--as_of", options.selection.as_of);
      !status.ok()) {
    return status;
  }
  if (options.min_revision < 0) {
    return UsageError(
        absl::StrCat("--min_revision: ", options.min_revision, " is negative"));
  }
  return found->run(clients, options, out);
}

}  // namespace thb::thbctl
