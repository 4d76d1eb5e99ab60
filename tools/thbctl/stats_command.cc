// thbctl stats: the aggregator's answers. Counts of countries, breakdowns
// and cross-tabulations by a dimension, shares, the records behind an
// answer, and the study's figures table computed live and checked against
// the published figures.

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/string_view.h"
#include "domain/dataset.h"
#include "domain/record_filter.h"
#include "google/protobuf/util/json_util.h"
#include "tools/thbctl/commands.h"
#include "tools/thbctl/flag_values.h"

namespace thb::thbctl {
namespace {

namespace v1 = ::thb::stats::v1;
using cooperation::v1::Dataset;
using cooperation::v1::Statement;
using google::protobuf::EnumDescriptor;

// Table columns that would push the rest off the screen are cut.
constexpr size_t kMaxStatementWidth = 48;
constexpr size_t kMaxTitleWidth = 48;

constexpr char kDimensions[] =
    "kind, thematic_area (or area), form, partner, partner_kind, "
    "target_region (or region), reporting_country (or country), year, tag, "
    "emn_status";

// --------------------------------------------------------------- flags

bool HasFilterFlags(const SelectionFlags& flags) {
  return !flags.kind.empty() || !flags.area.empty() || !flags.form.empty() ||
         !flags.partner_kind.empty() || !flags.partner.empty() ||
         !flags.region.empty() || !flags.country.empty() ||
         !flags.tag.empty() || flags.from_year != 0 || flags.to_year != 0 ||
         !flags.emn_status.empty() || flags.eu || flags.non_eu;
}

// The flags only some subcommands take, and whether each was given.
std::vector<std::pair<std::string, bool>> GivenFlags(
    const StatsOptions& options) {
  const SelectionFlags& s = options.selection;
  return {{"--kind", !s.kind.empty()},
          {"--area", !s.area.empty()},
          {"--form", !s.form.empty()},
          {"--partner_kind", !s.partner_kind.empty()},
          {"--partner", !s.partner.empty()},
          {"--region", !s.region.empty()},
          {"--country", !s.country.empty()},
          {"--tag", !s.tag.empty()},
          {"--from_year", s.from_year != 0},
          {"--to_year", s.to_year != 0},
          {"--emn_status", !s.emn_status.empty()},
          {"--eu", s.eu},
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
          {"--check", options.check}};
}

// The filter flags and --query: what count, breakdown, crosstab and explain
// select countries by.
constexpr char kSelectionFlags[] =
    "--kind --area --form --partner_kind --partner --region --country --tag "
    "--from_year --to_year --emn_status --eu --non_eu --query";

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

// The query of --query, or else the single filter of the filter flags (no
// flag: every record).
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

// --------------------------------------------------------------- output

std::string Lower(std::string text) {
  absl::AsciiStrToLower(&text);
  return text;
}

std::string CacheName(v1::CacheStatus cache) { return Lower(ShortName(cache)); }

// The closing line of a table: what the answer was computed at.
std::string AsOfLine(const v1::AsOf& as_of, v1::CacheStatus cache) {
  return absl::StrCat("as of ", as_of.as_of_date(), ", registry revision ",
                      as_of.registry_revision(), ", cooperation revision ",
                      as_of.cooperation_revision(), ", cache ",
                      CacheName(cache), "\n");
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

// A dimension value as tables and CSV show it: enum values by their short
// names ("PREVENTION"), and a partner without an id by its kind's
// ("<CSO>"). JSON keeps the service's full names.
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

template <typename Repeated>
std::string Joined(const Repeated& values, const char* separator) {
  return absl::StrJoin(values.begin(), values.end(), separator);
}

// A string in JSON: quoted, with quotes, backslashes and control
// characters escaped (UTF-8 stays as it is).
std::string JsonString(std::string_view text) {
  std::string json = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        json += "\\\"";
        break;
      case '\\':
        json += "\\\\";
        break;
      case '\n':
        json += "\\n";
        break;
      case '\r':
        json += "\\r";
        break;
      case '\t':
        json += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&json, "\\u%04x", c);
        } else {
          json += c;
        }
    }
  }
  json += "\"";
  return json;
}

// The error of one of several calls, saying which one; its details stay.
absl::Status Prefixed(const absl::Status& status, std::string_view prefix) {
  absl::Status prefixed(status.code(),
                        absl::StrCat(ToAbsl(prefix), status.message()));
  status.ForEachPayload(
      [&](absl::string_view type_url, const absl::Cord& payload) {
        prefixed.SetPayload(type_url, payload);
      });
  return prefixed;
}

// --------------------------------------------------------------- dataset

std::string DatasetPath(const StatsOptions& options) {
  return options.dataset.empty() ? kDefaultDataset : options.dataset;
}

// "fn 28"; "fn —" for the statement without a footnote.
std::string FootnoteLabel(int footnote) {
  return footnote > 0 ? absl::StrCat("fn ", footnote) : "fn —";
}

// The date a statement's figure is judged at.
std::string StatementDate(const Dataset& dataset, const Statement& statement) {
  return statement.as_of_date().empty() ? dataset.as_of_date()
                                        : statement.as_of_date();
}

// The statement with `footnote`; a usage error naming `flag` when there is
// none or (footnote 0) more than one.
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

// The codes of a printed footnote: "BE, DE, and GE." gives BE, DE, GE.
std::set<std::string> FootnoteCodes(std::string_view footnote) {
  std::set<std::string> codes;
  for (absl::string_view part :
       absl::StrSplit(ToAbsl(footnote), ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    absl::ConsumePrefix(&part, "and ");
    absl::ConsumeSuffix(&part, ".");
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) codes.insert(std::string(part));
  }
  return codes;
}

// --------------------------------------------------------------- count

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

// --------------------------------------------------------------- breakdown

absl::Status Breakdown(Clients& clients, const StatsOptions& options,
                       std::ostream& out) {
  auto dimension = ParseDimension("--by", options.by);
  if (!dimension.ok()) return dimension.status();
  auto measure = ParseMeasure(options.measure);
  if (!measure.ok()) return measure.status();
  auto query = QueryOf(options);
  if (!query.ok()) return query.status();
  v1::BreakdownRequest request;
  *request.mutable_query() = *std::move(query);
  request.set_dimension(*dimension);
  request.set_measure(*measure);
  request.set_as_of_date(options.selection.as_of);
  request.set_min_cooperation_revision(options.min_revision);
  auto response = clients.stats().Call(&StatsStub::Breakdown, request);
  if (!response.ok()) return response.status();

  const std::string dimension_name = ShortName(*dimension);
  const std::string measure_name = ShortName(*measure);
  switch (options.format) {
    case Format::kJson:
      return PrintJson(*response, out);
    case Format::kCsv:
      out << CsvLine(
          {Lower(dimension_name),
           *measure == v1::MEASURE_RECORDS ? "record_count" : "country_count",
           "countries", "footnote"});
      for (const v1::Bucket& bucket : response->buckets()) {
        out << CsvLine({DisplayValue(*dimension, bucket.value()),
                        absl::StrCat(bucket.count()),
                        Joined(bucket.countries(), ";"), bucket.footnote()});
      }
      break;
    case Format::kTable: {
      Table table({dimension_name, measure_name, "FOOTNOTE"});
      for (const v1::Bucket& bucket : response->buckets()) {
        table.AddRow({DisplayValue(*dimension, bucket.value()),
                      absl::StrCat(bucket.count()), bucket.footnote()});
      }
      table.Print(out);
      out << AsOfLine(response->as_of(), response->cache());
      break;
    }
  }
  return absl::OkStatus();
}

// --------------------------------------------------------------- crosstab

absl::Status Crosstab(Clients& clients, const StatsOptions& options,
                      std::ostream& out) {
  auto rows = ParseDimension("--rows", options.rows);
  if (!rows.ok()) return rows.status();
  auto columns = ParseDimension("--columns", options.columns);
  if (!columns.ok()) return columns.status();
  auto measure = ParseMeasure(options.measure);
  if (!measure.ok()) return measure.status();
  auto query = QueryOf(options);
  if (!query.ok()) return query.status();
  v1::CrossTabulateRequest request;
  *request.mutable_query() = *std::move(query);
  request.set_row_dimension(*rows);
  request.set_column_dimension(*columns);
  request.set_measure(*measure);
  request.set_as_of_date(options.selection.as_of);
  request.set_min_cooperation_revision(options.min_revision);
  auto response = clients.stats().Call(&StatsStub::CrossTabulate, request);
  if (!response.ok()) return response.status();
  if (options.format == Format::kJson) return PrintJson(*response, out);

  std::vector<std::string> header = {
      options.format == Format::kCsv
          ? Lower(ShortName(*rows))
          : absl::StrCat(ShortName(*rows), " \\ ", ShortName(*columns))};
  for (const std::string& value : response->column_values()) {
    header.push_back(DisplayValue(*columns, value));
  }
  std::vector<std::vector<std::string>> lines;
  for (const v1::CrossTabulateRow& row : response->rows()) {
    std::vector<std::string> line = {DisplayValue(*rows, row.value())};
    for (int32_t count : row.counts()) line.push_back(absl::StrCat(count));
    lines.push_back(std::move(line));
  }
  if (options.format == Format::kCsv) {
    out << CsvLine(header);
    for (const auto& line : lines) out << CsvLine(line);
    return absl::OkStatus();
  }
  Table table(std::move(header));
  for (auto& line : lines) table.AddRow(std::move(line));
  table.Print(out);
  out << "counts of " << Lower(ShortName(*measure)) << "; "
      << AsOfLine(response->as_of(), response->cache());
  return absl::OkStatus();
}

// --------------------------------------------------------------- share

// One side of a share: a query, and where it comes from.
struct ShareSide {
  v1::CountryQuery query;
  // "fn 28", or "" for a query of the command line.
  std::string label;
  // The statement's date, for a side taken from the dataset.
  std::string as_of_date;
};

absl::StatusOr<ShareSide> SideOf(std::string_view name, const std::string& json,
                                 const std::optional<int>& footnote,
                                 const StatsOptions& options,
                                 std::optional<Dataset>& dataset) {
  const std::string json_flag = absl::StrCat("--", ToAbsl(name));
  const std::string footnote_flag = absl::StrCat(json_flag, "_footnote");
  if (!json.empty() && footnote.has_value()) {
    return UsageError(
        absl::StrCat(json_flag, " and ", footnote_flag, " exclude each other"));
  }
  if (json.empty() && !footnote.has_value()) {
    return UsageError(absl::StrCat("stats share needs ", json_flag,
                                   "=JSON (a CountryQuery) or ", footnote_flag,
                                   "=N (a statement of the dataset)"));
  }
  ShareSide side;
  if (!json.empty()) {
    auto query = ParseQueryJson(json_flag, json);
    if (!query.ok()) return query.status();
    side.query = *std::move(query);
    return side;
  }
  const std::string path = DatasetPath(options);
  if (!dataset.has_value()) {
    auto loaded = domain::LoadDataset(path);
    if (!loaded.ok()) return loaded.status();
    dataset = *std::move(loaded);
  }
  auto statement = FindStatement(*dataset, path, footnote_flag, *footnote);
  if (!statement.ok()) return statement.status();
  side.query = StatementQuery(**statement);
  side.label = FootnoteLabel(*footnote);
  side.as_of_date = StatementDate(*dataset, **statement);
  return side;
}

absl::Status Share(Clients& clients, const StatsOptions& options,
                   std::ostream& out) {
  std::optional<Dataset> dataset;
  auto part =
      SideOf("part", options.part, options.part_footnote, options, dataset);
  if (!part.ok()) return part.status();
  auto whole =
      SideOf("whole", options.whole, options.whole_footnote, options, dataset);
  if (!whole.ok()) return whole.status();

  v1::ShareRequest request;
  *request.mutable_part() = part->query;
  *request.mutable_whole() = whole->query;
  // The flag, or else the date of the statements the sides come from.
  std::string as_of = options.selection.as_of;
  if (as_of.empty()) as_of = part->as_of_date;
  if (as_of.empty()) as_of = whole->as_of_date;
  request.set_as_of_date(as_of);
  request.set_min_cooperation_revision(options.min_revision);
  auto response = clients.stats().Call(&StatsStub::Share, request);
  if (!response.ok()) return response.status();

  switch (options.format) {
    case Format::kJson:
      return PrintJson(*response, out);
    case Format::kCsv:
      out << CsvLine({"part_count", "whole_count", "percent", "text",
                      "part_footnote", "whole_footnote"})
          << CsvLine({absl::StrCat(response->part_count()),
                      absl::StrCat(response->whole_count()),
                      absl::StrFormat("%.1f", response->percent()),
                      response->text(), response->part_footnote(),
                      response->whole_footnote()});
      break;
    case Format::kTable: {
      const auto labelled = [](const char* name, const std::string& label) {
        return label.empty() ? std::string(name)
                             : absl::StrCat(name, " (", label, ")");
      };
      PrintDetails({{"share", response->text()},
                    {labelled("part", part->label),
                     absl::StrCat(response->part_count(), ": ",
                                  response->part_footnote())},
                    {labelled("whole", whole->label),
                     absl::StrCat(response->whole_count(), ": ",
                                  response->whole_footnote())}},
                   out);
      out << AsOfLine(response->as_of(), response->cache());
      break;
    }
  }
  return absl::OkStatus();
}

// --------------------------------------------------------------- explain

std::string SourceFootnotes(const v1::RecordEvidence& record) {
  std::vector<std::string> footnotes;
  for (const registry::v1::Source& source : record.sources()) {
    if (source.footnote() > 0)
      footnotes.push_back(absl::StrCat(source.footnote()));
  }
  return absl::StrJoin(footnotes, ";");
}

std::string Citation(const registry::v1::Source& source) {
  return source.url().empty()
             ? source.citation()
             : absl::StrCat(source.citation(), ", ", source.url());
}

absl::Status Explain(Clients& clients, const StatsOptions& options,
                     std::ostream& out) {
  auto query = QueryOf(options);
  if (!query.ok()) return query.status();
  v1::ExplainRequest request;
  *request.mutable_query() = *std::move(query);
  request.set_as_of_date(options.selection.as_of);
  request.set_min_cooperation_revision(options.min_revision);
  auto response = clients.stats().Call(&StatsStub::Explain, request);
  if (!response.ok()) return response.status();
  if (options.format == Format::kJson) return PrintJson(*response, out);

  if (options.format == Format::kCsv) {
    out << CsvLine({"country", "emn_status", "record_id", "kind", "title",
                    "source_footnotes", "citations"});
    for (const v1::CountryExplanation& country : response->countries()) {
      for (const v1::RecordEvidence& record : country.records()) {
        std::vector<std::string> citations;
        for (const auto& source : record.sources()) {
          citations.push_back(Citation(source));
        }
        out << CsvLine({country.country(), ShortName(country.emn_status()),
                        record.record_id(), ShortName(record.kind()),
                        record.title(), SourceFootnotes(record),
                        absl::StrJoin(citations, ";")});
      }
    }
    return absl::OkStatus();
  }

  // Citations are long and shared by many records: numbered once below the
  // table, referred to by number in it.
  std::vector<std::string> citations;
  std::map<std::string, size_t> citation_numbers;
  const auto sources_of = [&](const v1::RecordEvidence& record) {
    std::vector<std::string> refs;
    for (const registry::v1::Source& source : record.sources()) {
      const std::string citation = Citation(source);
      auto [it, added] =
          citation_numbers.emplace(citation, citations.size() + 1);
      if (added) citations.push_back(citation);
      refs.push_back(
          source.footnote() > 0
              ? absl::StrCat("fn ", source.footnote(), " [", it->second, "]")
              : absl::StrCat("[", it->second, "]"));
    }
    return absl::StrJoin(refs, "; ");
  };
  Table table({"COUNTRY", "STATUS", "RECORD", "KIND", "SOURCES", "TITLE"});
  for (const v1::CountryExplanation& country : response->countries()) {
    bool first = true;
    for (const v1::RecordEvidence& record : country.records()) {
      table.AddRow({first ? country.country() : "",
                    first ? ShortName(country.emn_status()) : "",
                    record.record_id(), ShortName(record.kind()),
                    sources_of(record),
                    Truncated(record.title(), kMaxTitleWidth)});
      first = false;
    }
    if (first) {
      table.AddRow({country.country(), ShortName(country.emn_status())});
    }
  }
  table.Print(out);
  out << "footnote: " << response->footnote() << "\n";
  for (size_t i = 0; i < citations.size(); ++i) {
    out << "[" << i + 1 << "] " << citations[i] << "\n";
  }
  out << AsOfLine(response->as_of(), response->cache());
  return absl::OkStatus();
}

// --------------------------------------------------------------- figures

struct Figure {
  const Statement* statement = nullptr;
  std::string as_of_date;
  v1::CountCountriesResponse answer;
  // With --check: what differs from the published figure.
  std::vector<std::string> differences;
};

struct FigureShare {
  int part_footnote = 0;
  int whole_footnote = 0;
  v1::ShareResponse answer;
};

std::vector<std::string> Differences(const Statement& statement,
                                     const v1::CountCountriesResponse& answer) {
  std::vector<std::string> differences;
  const std::string label = FootnoteLabel(statement.footnote());
  if (answer.count() != statement.count()) {
    differences.push_back(absl::StrCat(label, ": count ", answer.count(),
                                       ", published ", statement.count()));
  }
  // Where the source prints no list, only the count is compared.
  if (statement.countries().empty() ||
      answer.footnote() == statement.countries()) {
    return differences;
  }
  const std::set<std::string> published = FootnoteCodes(statement.countries());
  const std::set<std::string> computed(answer.countries().begin(),
                                       answer.countries().end());
  std::vector<std::string> missing;
  std::vector<std::string> extra;
  std::set_difference(published.begin(), published.end(), computed.begin(),
                      computed.end(), std::back_inserter(missing));
  std::set_difference(computed.begin(), computed.end(), published.begin(),
                      published.end(), std::back_inserter(extra));
  std::string text =
      absl::StrCat(label, ": countries \"", answer.footnote(),
                   "\", published \"", statement.countries(), "\"");
  if (!missing.empty()) {
    absl::StrAppend(&text, "; missing ", absl::StrJoin(missing, ", "));
  }
  if (!extra.empty()) {
    absl::StrAppend(&text, "; not published ", absl::StrJoin(extra, ", "));
  }
  differences.push_back(std::move(text));
  return differences;
}

std::string ShareLine(const FigureShare& share) {
  return absl::StrCat("Share ", FootnoteLabel(share.part_footnote), " of ",
                      FootnoteLabel(share.whole_footnote), ": ",
                      share.answer.text());
}

void PrintFiguresJson(const std::string& path,
                      const std::vector<Figure>& figures,
                      const std::vector<FigureShare>& shares, bool check,
                      std::ostream& out) {
  out << "{\n  \"dataset\": " << JsonString(path) << ",\n  \"figures\": [";
  for (size_t i = 0; i < figures.size(); ++i) {
    const Figure& figure = figures[i];
    const Statement& statement = *figure.statement;
    const v1::CountCountriesResponse& answer = figure.answer;
    std::vector<std::string> countries;
    for (const std::string& code : answer.countries()) {
      countries.push_back(JsonString(code));
    }
    out << (i == 0 ? "\n" : ",\n") << "    {\n"
        << "      \"footnote\": " << statement.footnote() << ",\n"
        << "      \"statement\": " << JsonString(statement.text()) << ",\n"
        << "      \"as_of_date\": " << JsonString(figure.as_of_date) << ",\n"
        << "      \"count\": " << answer.count() << ",\n"
        << "      \"member_count\": " << answer.member_count() << ",\n"
        << "      \"observer_count\": " << answer.observer_count() << ",\n"
        << "      \"countries\": " << JsonString(answer.footnote()) << ",\n"
        << "      \"country_codes\": [" << absl::StrJoin(countries, ", ")
        << "],\n"
        << "      \"published_count\": " << statement.count() << ",\n"
        << "      \"published_countries\": "
        << JsonString(statement.countries()) << ",\n"
        << "      \"registry_revision\": " << answer.as_of().registry_revision()
        << ",\n"
        << "      \"cooperation_revision\": "
        << answer.as_of().cooperation_revision() << ",\n"
        << "      \"cache\": " << JsonString(ShortName(answer.cache()));
    if (check) {
      std::vector<std::string> differences;
      for (const std::string& difference : figure.differences) {
        differences.push_back(JsonString(difference));
      }
      out << ",\n      \"check\": "
          << JsonString(figure.differences.empty() ? "OK" : "DIFF") << ",\n"
          << "      \"differences\": [" << absl::StrJoin(differences, ", ")
          << "]";
    }
    out << "\n    }";
  }
  out << (figures.empty() ? "],\n" : "\n  ],\n") << "  \"shares\": [";
  for (size_t i = 0; i < shares.size(); ++i) {
    const FigureShare& share = shares[i];
    out << (i == 0 ? "\n" : ",\n") << "    {\n"
        << "      \"part_footnote\": " << share.part_footnote << ",\n"
        << "      \"whole_footnote\": " << share.whole_footnote << ",\n"
        << "      \"part_count\": " << share.answer.part_count() << ",\n"
        << "      \"whole_count\": " << share.answer.whole_count() << ",\n"
        << "      \"percent\": "
        << absl::StrFormat("%.1f", share.answer.percent()) << ",\n"
        << "      \"text\": " << JsonString(share.answer.text()) << "\n"
        << "    }";
  }
  out << (shares.empty() ? "]\n" : "\n  ]\n") << "}\n";
}

void PrintFiguresCsv(const std::vector<Figure>& figures, bool check,
                     std::ostream& out) {
  std::vector<std::string> header = {"footnote", "statement", "count",
                                     "countries"};
  if (check) {
    header.insert(header.end(),
                  {"published_count", "published_countries", "check"});
  }
  out << CsvLine(header);
  for (const Figure& figure : figures) {
    std::vector<std::string> line = {
        absl::StrCat(figure.statement->footnote()), figure.statement->text(),
        absl::StrCat(figure.answer.count()), figure.answer.footnote()};
    if (check) {
      line.insert(line.end(), {absl::StrCat(figure.statement->count()),
                               figure.statement->countries(),
                               figure.differences.empty() ? "OK" : "DIFF"});
    }
    out << CsvLine(line);
  }
}

// "revision 3", or "revisions 3-4" when the answers span several.
std::string Revisions(int64_t low, int64_t high) {
  return low == high ? absl::StrCat("revision ", low)
                     : absl::StrCat("revisions ", low, "-", high);
}

void PrintFiguresTable(const std::string& path,
                       const std::vector<Figure>& figures,
                       const std::vector<FigureShare>& shares, bool check,
                       std::ostream& out) {
  std::vector<std::string> header = {"FN", "STATEMENT", "COUNT"};
  if (check) header.push_back("CHECK");
  header.push_back("COUNTRIES");
  Table table(std::move(header));
  std::set<std::string> dates;
  std::map<std::string, int> caches;
  int64_t registry_low = INT64_MAX, registry_high = 0;
  int64_t cooperation_low = INT64_MAX, cooperation_high = 0;
  for (const Figure& figure : figures) {
    const int footnote = figure.statement->footnote();
    std::vector<std::string> row = {
        footnote > 0 ? absl::StrCat(footnote) : "—",
        Truncated(figure.statement->text(), kMaxStatementWidth),
        absl::StrCat(figure.answer.count())};
    if (check) row.push_back(figure.differences.empty() ? "✓" : "✗");
    row.push_back(figure.answer.footnote());
    table.AddRow(std::move(row));
    dates.insert(figure.as_of_date);
    ++caches[CacheName(figure.answer.cache())];
    const v1::AsOf& as_of = figure.answer.as_of();
    registry_low = std::min(registry_low, as_of.registry_revision());
    registry_high = std::max(registry_high, as_of.registry_revision());
    cooperation_low = std::min(cooperation_low, as_of.cooperation_revision());
    cooperation_high = std::max(cooperation_high, as_of.cooperation_revision());
  }
  table.Print(out);
  for (const FigureShare& share : shares) out << ShareLine(share) << "\n";
  if (figures.empty()) {
    out << "no statements in " << path << "\n";
    return;
  }
  std::vector<std::string> cache_counts;
  for (const auto& [name, count] : caches) {
    cache_counts.push_back(absl::StrCat(count, " ", name));
  }
  out << "as of " << absl::StrJoin(dates, ", ") << ", registry "
      << Revisions(registry_low, registry_high) << ", cooperation "
      << Revisions(cooperation_low, cooperation_high) << ", cache "
      << absl::StrJoin(cache_counts, ", ") << "\n";
}

absl::Status Figures(Clients& clients, const StatsOptions& options,
                     std::ostream& out) {
  const std::string path = DatasetPath(options);
  auto dataset = domain::LoadDataset(path);
  if (!dataset.ok()) return dataset.status();

  // Every answer at least at the revision of the first: with replicas
  // round-robin, a later call must not see older data than an earlier one.
  int64_t min_revision = options.min_revision;
  std::vector<Figure> figures;
  for (const Statement& statement : dataset->statements()) {
    Figure figure;
    figure.statement = &statement;
    figure.as_of_date = options.selection.as_of.empty()
                            ? StatementDate(*dataset, statement)
                            : options.selection.as_of;
    v1::CountCountriesRequest request;
    *request.mutable_query() = StatementQuery(statement);
    request.set_as_of_date(figure.as_of_date);
    request.set_min_cooperation_revision(min_revision);
    auto answer = clients.stats().Call(&StatsStub::CountCountries, request);
    if (!answer.ok()) {
      return Prefixed(answer.status(),
                      absl::StrCat(FootnoteLabel(statement.footnote()), ": "));
    }
    figure.answer = *std::move(answer);
    min_revision =
        std::max(min_revision, figure.answer.as_of().cooperation_revision());
    if (options.check) {
      figure.differences = Differences(statement, figure.answer);
    }
    figures.push_back(std::move(figure));
  }

  // "Over half of these": each statement within another, as a share of it.
  std::vector<FigureShare> shares;
  for (const Figure& figure : figures) {
    const Statement& part = *figure.statement;
    for (int whole_footnote : part.within()) {
      auto whole = FindStatement(*dataset, path, "within", whole_footnote);
      if (!whole.ok()) return whole.status();
      v1::ShareRequest request;
      *request.mutable_part() = StatementQuery(part);
      *request.mutable_whole() = StatementQuery(**whole);
      request.set_as_of_date(figure.as_of_date);
      request.set_min_cooperation_revision(min_revision);
      auto answer = clients.stats().Call(&StatsStub::Share, request);
      if (!answer.ok()) {
        return Prefixed(
            answer.status(),
            absl::StrCat("share of ", FootnoteLabel(part.footnote()), " in ",
                         FootnoteLabel(whole_footnote), ": "));
      }
      shares.push_back({part.footnote(), whole_footnote, *std::move(answer)});
    }
  }

  switch (options.format) {
    case Format::kJson:
      PrintFiguresJson(path, figures, shares, options.check, out);
      break;
    case Format::kCsv:
      PrintFiguresCsv(figures, options.check, out);
      break;
    case Format::kTable:
      PrintFiguresTable(path, figures, shares, options.check, out);
      break;
  }
  if (!options.check) return absl::OkStatus();

  std::vector<std::string> differing;
  for (const Figure& figure : figures) {
    if (figure.differences.empty()) continue;
    differing.push_back(FootnoteLabel(figure.statement->footnote()));
    // The table and CSV say which; JSON holds the differences itself.
    if (options.format != Format::kJson) {
      for (const std::string& difference : figure.differences) {
        out << "DIFF " << difference << "\n";
      }
    }
  }
  if (differing.empty()) {
    if (options.format == Format::kTable) {
      out << "all " << figures.size() << " figures of " << path
          << " match the published ones\n";
    }
    return absl::OkStatus();
  }
  return ReportedFailure(absl::StrCat(
      differing.size(), " of ", figures.size(), " figures of ", path,
      " differ from the published ones: ", absl::StrJoin(differing, ", ")));
}

// --------------------------------------------------------------- dispatch

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
         (subcommand.selects && Listed(kSelectionFlags, flag));
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
