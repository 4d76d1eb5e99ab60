#ifndef THB_SERVICES_COOPERATION_RECORD_ROW_H_
#define THB_SERVICES_COOPERATION_RECORD_ROW_H_

#include <string>

#include "absl/status/status.h"
#include "thb/cooperation/v1/cooperation.pb.h"

namespace thb::cooperation {

// Reads the stored form of record `id`. A row that does not parse, or that
// holds another record, is never taken for the record: an update would
// write the part that parsed back as if it were whole.
absl::Status ParseRecordRow(const std::string& id, const std::string& data,
                            v1::CooperationRecord* record);

}  // namespace thb::cooperation

#endif  // THB_SERVICES_COOPERATION_RECORD_ROW_H_
