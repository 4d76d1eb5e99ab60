// thbctl stats count: how many countries the query selects, and which.

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/thbctl/flag_values.h"
#include "tools/thbctl/output.h"
#include "tools/thbctl/stats_common.h"

namespace thb::thbctl::stats_command {

absl::Status Count(Clients& clients, const StatsOptions& options,
                   std::ostream& out) {
  auto query = QueryOf(options);
  if (!query.ok()) return query.status();
  v1::CountCountriesRequest request;
  *request.mutable_query() = *std::move(query);
  request.set_as_of_date(options.selection.as_of);
  request.set_min_cooperation_revision(options.min_revision);
  auto response = clients.stats().Call(&StatsStub::CountCountries, request);
  if (!response.ok()) return response.status();

  switch (options.format) {
    case Format::kJson:
      return PrintJson(*response, out);
    case Format::kCsv:
      out << CsvLine({"count", "member_count", "observer_count", "footnote",
                      "countries", "as_of_date", "registry_revision",
                      "cooperation_revision", "cache"})
          << CsvLine({absl::StrCat(response->count()),
                      absl::StrCat(response->member_count()),
                      absl::StrCat(response->observer_count()),
                      response->footnote(), Joined(response->countries(), ";"),
                      response->as_of().as_of_date(),
                      absl::StrCat(response->as_of().registry_revision()),
                      absl::StrCat(response->as_of().cooperation_revision()),
                      CacheName(response->cache())});
      break;
    case Format::kTable:
      PrintDetails({{"count", absl::StrCat(response->count())},
                    {"members", absl::StrCat(response->member_count())},
                    {"observers", absl::StrCat(response->observer_count())},
                    {"footnote", response->footnote()},
                    {"countries", Joined(response->countries(), ",")}},
                   out);
      out << AsOfLine(response->as_of(), response->cache());
      break;
  }
  return absl::OkStatus();
}

}  // namespace thb::thbctl::stats_command
