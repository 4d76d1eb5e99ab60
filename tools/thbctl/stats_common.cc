#include "tools/thbctl/stats_common.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/string_view.h"
#include "domain/record_filter.h"
#include "google/protobuf/util/json_util.h"
#include "tools/thbctl/flag_values.h"

namespace thb::thbctl::stats_command {
namespace {

using google::protobuf::EnumDescriptor;

constexpr char kDimensions[] =
    "kind, thematic_area (or area), form, partner, partner_kind, "
    "target_region (or region), reporting_country (or country), year, tag, "
    "emn_status";

bool HasFilterFlags(const SelectionFlags& flags) {
  return !flags.filter.empty() || flags.eu || flags.non_eu;
}

// The enum whose value names a dimension's buckets, if it has one.
const EnumDescriptor* ValueEnum(v1::Dimension dimension) {
  switch (dimension) {
    case v1::DIMENSION_KIND:
      return cooperation::v1::RecordKind_descriptor();
    case v1::DIMENSION_THEMATIC_AREA:
      return cooperation::v1::ThematicArea_descriptor();
    case v1::DIMENSION_FORM:
      return cooperation::v1::CooperationForm_descriptor();
    case v1::DIMENSION_PARTNER_KIND:
      return cooperation::v1::PartnerKind_descriptor();
    case v1::DIMENSION_EMN_STATUS:
      return registry::v1::EmnStatus_descriptor();
    default:
      return nullptr;
  }
}

}  // namespace

absl::StatusOr<v1::CountryQuery> ParseQueryJson(std::string_view flag,
                                                const std::string& json) {
  v1::CountryQuery query;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &query);
  if (!status.ok()) {
    return UsageError(absl::StrCat(ToAbsl(flag), ": not a ",
                                   v1::CountryQuery::descriptor()->full_name(),
                                   " in JSON: ", status.message().ToString()));
  }
  return query;
}

absl::StatusOr<v1::CountryQuery> QueryOf(const StatsOptions& options) {
  if (!options.query.empty()) {
    if (HasFilterFlags(options.selection)) {
      return UsageError(
          "--query and the filter flags (--kind, --area, ...) exclude each "
          "other: put the filter into the query");
    }
    return ParseQueryJson("--query", options.query);
  }
  auto request = ListRecordsRequestOf(options.selection);
  if (!request.ok()) return request.status();
  v1::CountryQuery query;
  *query.mutable_filter() = domain::ToStatsFilter(request->filter());
  return query;
}

absl::StatusOr<v1::Dimension> ParseDimension(std::string_view flag,
                                             const std::string& value) {
  if (value.empty()) {
    return UsageError(
        absl::StrCat(ToAbsl(flag), ": name a dimension: ", kDimensions));
  }
  std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(value));
  for (const auto& [alias, dimension] :
       {std::pair{"area", "thematic_area"},
        std::pair{"region", "target_region"},
        std::pair{"country", "reporting_country"}}) {
    if (name == alias) name = dimension;
  }
  auto numbers = ParseEnumValues(flag, {name}, v1::Dimension_descriptor());
  if (!numbers.ok()) return numbers.status();
  return static_cast<v1::Dimension>(numbers->front());
}

absl::StatusOr<v1::Measure> ParseMeasure(const std::string& value) {
  if (value.empty()) return v1::MEASURE_COUNTRIES;
  auto numbers =
      ParseEnumValues("--measure", {value}, v1::Measure_descriptor());
  if (!numbers.ok()) return numbers.status();
  return static_cast<v1::Measure>(numbers->front());
}

std::string Lower(std::string text) {
  absl::AsciiStrToLower(&text);
  return text;
}

std::string CacheName(v1::CacheStatus cache) { return Lower(ShortName(cache)); }

std::string AsOfLine(const v1::AsOf& as_of, v1::CacheStatus cache) {
  return absl::StrCat("as of ", as_of.as_of_date(), ", registry revision ",
                      as_of.registry_revision(), ", cooperation revision ",
                      as_of.cooperation_revision(), ", cache ",
                      CacheName(cache), "\n");
}

std::string DisplayValue(v1::Dimension dimension, const std::string& value) {
  if (dimension == v1::DIMENSION_PARTNER && value.size() > 2 &&
      value.front() == '<' && value.back() == '>') {
    return absl::StrCat("<",
                        DisplayValue(v1::DIMENSION_PARTNER_KIND,
                                     value.substr(1, value.size() - 2)),
                        ">");
  }
  const EnumDescriptor* descriptor = ValueEnum(dimension);
  if (descriptor == nullptr) return value;
  const auto* found = descriptor->FindValueByName(value);
  return found == nullptr ? value : ShortName(descriptor, found->number());
}

std::string DatasetPath(const StatsOptions& options) {
  return options.dataset.empty() ? kDefaultDataset : options.dataset;
}

std::string FootnoteLabel(int footnote) {
  return footnote > 0 ? absl::StrCat("fn ", footnote) : "fn —";
}

std::string StatementDate(const Dataset& dataset, const Statement& statement) {
  return statement.as_of_date().empty() ? dataset.as_of_date()
                                        : statement.as_of_date();
}

absl::StatusOr<const Statement*> FindStatement(const Dataset& dataset,
                                               const std::string& path,
                                               std::string_view flag,
                                               int footnote) {
  const Statement* found = nullptr;
  for (const Statement& statement : dataset.statements()) {
    if (statement.footnote() != footnote) continue;
    if (found != nullptr) {
      return UsageError(absl::StrCat(ToAbsl(flag), ": ", path,
                                     " has several statements with footnote ",
                                     footnote));
    }
    found = &statement;
  }
  if (found == nullptr) {
    return UsageError(absl::StrCat(ToAbsl(flag), ": no statement of ", path,
                                   " has footnote ", footnote));
  }
  return found;
}

v1::CountryQuery StatementQuery(const Statement& statement) {
  v1::CountryQuery query;
  *query.mutable_filter() = domain::ToStatsFilter(statement.filter());
  return query;
}

}  // namespace thb::thbctl::stats_command
