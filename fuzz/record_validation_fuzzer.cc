// Record validation on any record (the binary protobuf of a
// CooperationRecord): no crash, and validation is idempotent: the canonical
// form the first validation leaves validates again, unchanged.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.h"
#include "services/cooperation/record_validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  thb::cooperation::v1::CooperationRecord record;
  if (!record.ParseFromArray(data, static_cast<int>(size))) return 0;
  const auto& registry = thb::fuzz::ReferenceSnapshot();
  if (!thb::cooperation::ValidateRecord(record, registry, "record").ok()) {
    return 0;
  }
  thb::cooperation::v1::CooperationRecord again = record;
  const absl::Status status =
      thb::cooperation::ValidateRecord(again, registry, "record");
  THB_FUZZ_CHECK(status.ok(), status.ToString() + "\n" + record.DebugString());
  std::string difference;
  THB_FUZZ_CHECK(thb::fuzz::SameMessage(record, again, &difference),
                 difference);
  return 0;
}
