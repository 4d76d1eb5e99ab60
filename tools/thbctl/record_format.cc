#include "tools/thbctl/record_format.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "tools/thbctl/flag_values.h"

namespace thb::thbctl {
namespace {

using cooperation::v1::CooperationRecord;
using cooperation::v1::Partner;

constexpr size_t kMaxTitleWidth = 60;

template <typename Enum, typename Repeated>
std::string EnumList(const Repeated& values, const char* separator) {
  std::vector<std::string> names;
  for (int value : values) names.push_back(ShortName(static_cast<Enum>(value)));
  return absl::StrJoin(names, separator);
}

std::string PartnerList(const google::protobuf::RepeatedPtrField<Partner>& list,
                        const char* separator) {
  std::vector<std::string> partners;
  for (const Partner& partner : list) {
    partners.push_back(
        absl::StrCat(ShortName(partner.kind()), ":", partner.id()));
  }
  return absl::StrJoin(partners, separator);
}

std::string Year(int year) { return year == 0 ? "" : absl::StrCat(year); }

// "2021-2023", "2021-" (open), "" (unknown).
std::string Period(const CooperationRecord& record) {
  if (record.start_year() == 0 && record.end_year() == 0) return "";
  if (record.start_year() == record.end_year()) {
    return absl::StrCat(record.start_year());
  }
  return absl::StrCat(Year(record.start_year()), "-", Year(record.end_year()));
}

std::string Footnotes(const CooperationRecord& record) {
  std::vector<int> footnotes;
  for (const auto& source : record.sources()) {
    if (source.footnote() > 0) footnotes.push_back(source.footnote());
  }
  return absl::StrJoin(footnotes, ";");
}

std::string Timestamp(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "";
  return google::protobuf::util::TimeUtil::ToString(time);
}

}  // namespace

std::string RecordsCsv(const std::vector<CooperationRecord>& records) {
  std::string csv =
      CsvLine({"id", "reporting_country", "kind", "thematic_areas", "form",
               "partners", "target_regions", "target_countries", "start_year",
               "end_year", "status", "tags", "source_footnotes", "title"});
  for (const CooperationRecord& record : records) {
    absl::StrAppend(
        &csv, CsvLine({record.id(), record.reporting_country(),
                       ShortName(record.kind()),
                       EnumList<cooperation::v1::ThematicArea>(
                           record.thematic_areas(), ";"),
                       record.form() == 0 ? "" : ShortName(record.form()),
                       PartnerList(record.partners(), ";"),
                       absl::StrJoin(record.target_regions(), ";"),
                       absl::StrJoin(record.target_countries(), ";"),
                       Year(record.start_year()), Year(record.end_year()),
                       record.status() == 0 ? "" : ShortName(record.status()),
                       absl::StrJoin(record.tags(), ";"), Footnotes(record),
                       record.title()}));
  }
  return csv;
}

Table RecordsTable(const std::vector<CooperationRecord>& records) {
  Table table({"ID", "COUNTRY", "KIND", "AREAS", "FORM", "PARTNERS", "PERIOD",
               "STATUS", "TITLE"});
  for (const CooperationRecord& record : records) {
    table.AddRow(
        {record.id(), record.reporting_country(), ShortName(record.kind()),
         EnumList<cooperation::v1::ThematicArea>(record.thematic_areas(), ","),
         record.form() == 0 ? "" : ShortName(record.form()),
         PartnerList(record.partners(), ","), Period(record),
         record.status() == 0 ? "" : ShortName(record.status()),
         Truncated(record.title(), kMaxTitleWidth)});
  }
  return table;
}

Details RecordDetails(const CooperationRecord& record) {
  std::vector<std::string> funding;
  for (const auto& line : record.funding()) {
    funding.push_back(line.programme().empty()
                          ? ShortName(line.source())
                          : absl::StrCat(ShortName(line.source()), " (",
                                         line.programme(), ")"));
  }
  std::vector<std::string> sources;
  for (const auto& source : record.sources()) {
    std::string text = source.citation();
    if (source.footnote() > 0)
      absl::StrAppend(&text, ", fn ", source.footnote());
    if (!source.url().empty()) absl::StrAppend(&text, ", ", source.url());
    if (!source.accessed_date().empty()) {
      absl::StrAppend(&text, " (accessed ", source.accessed_date(), ")");
    }
    sources.push_back(std::move(text));
  }
  return {
      {"id", record.id()},
      {"reporting country", record.reporting_country()},
      {"kind", ShortName(record.kind())},
      {"title", record.title()},
      {"description", record.description()},
      {"thematic areas",
       EnumList<cooperation::v1::ThematicArea>(record.thematic_areas(), ", ")},
      {"form", record.form() == 0 ? "" : ShortName(record.form())},
      {"partners", PartnerList(record.partners(), ", ")},
      {"implementers", PartnerList(record.implementers(), ", ")},
      {"funding", absl::StrJoin(funding, ", ")},
      {"target regions", absl::StrJoin(record.target_regions(), ", ")},
      {"target countries", absl::StrJoin(record.target_countries(), ", ")},
      {"period", Period(record)},
      {"status", record.status() == 0 ? "" : ShortName(record.status())},
      {"tags", absl::StrJoin(record.tags(), ", ")},
      {"sources", absl::StrJoin(sources, "\n")},
      {"revision", absl::StrCat(record.revision())},
      {"etag", record.etag()},
      {"created", Timestamp(record.create_time())},
      {"updated", Timestamp(record.update_time())},
  };
}

}  // namespace thb::thbctl
