// thbctl stats explain: per country of the answer, the records behind it
// and their sources.

#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/thbctl/flag_values.h"
#include "tools/thbctl/output.h"
#include "tools/thbctl/stats_common.h"

namespace thb::thbctl::stats_command {
namespace {

// Table columns that would push the rest off the screen are cut.
constexpr size_t kMaxTitleWidth = 48;

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

}  // namespace

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

}  // namespace thb::thbctl::stats_command
