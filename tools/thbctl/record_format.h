#ifndef THB_TOOLS_THBCTL_RECORD_FORMAT_H_
#define THB_TOOLS_THBCTL_RECORD_FORMAT_H_

#include <string>
#include <vector>

#include "thb/cooperation/v1/cooperation.pb.h"
#include "tools/thbctl/output.h"

namespace thb::thbctl {

// Records as CSV, one row per record, enum values by their short names and
// list fields joined by ';': id, reporting_country, kind, thematic_areas,
// form, partners (KIND:ID, the id empty when the source names only the
// kind), target_regions, target_countries, start_year, end_year (empty when
// 0), status, tags, source footnotes, title. With the header line.
std::string RecordsCsv(
    const std::vector<cooperation::v1::CooperationRecord>& records);

// Records in aligned columns, one line each.
Table RecordsTable(
    const std::vector<cooperation::v1::CooperationRecord>& records);

// One record, every field.
Details RecordDetails(const cooperation::v1::CooperationRecord& record);

}  // namespace thb::thbctl

#endif  // THB_TOOLS_THBCTL_RECORD_FORMAT_H_
