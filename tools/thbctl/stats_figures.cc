// thbctl stats figures: the study's figures table computed live, one row
// per statement of the dataset, and with --check compared with the
// published figures.

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/string_view.h"
#include "domain/dataset.h"
#include "tools/thbctl/flag_values.h"
#include "tools/thbctl/output.h"
#include "tools/thbctl/stats_common.h"

namespace thb::thbctl::stats_command {
namespace {

// Table columns that would push the rest off the screen are cut.
constexpr size_t kMaxStatementWidth = 48;

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

}  // namespace

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

}  // namespace thb::thbctl::stats_command
