#include "services/cooperation/record_row.h"

#include "absl/strings/str_cat.h"

namespace thb::cooperation {

absl::Status ParseRecordRow(const std::string& id, const std::string& data,
                            v1::CooperationRecord* record) {
  if (!record->ParseFromString(data)) {
    return absl::InternalError(absl::StrCat(
        "stored record \"", id, "\" cannot be read: its row does not parse"));
  }
  if (record->id() != id) {
    return absl::InternalError(absl::StrCat("stored record \"", id,
                                            "\" cannot be read: its row "
                                            "holds record \"",
                                            record->id(), "\""));
  }
  return absl::OkStatus();
}

}  // namespace thb::cooperation
