#ifndef THB_SERVICES_COOPERATION_RECORD_VALIDATION_H_
#define THB_SERVICES_COOPERATION_RECORD_VALIDATION_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "services/registry/client/registry_snapshot.h"
#include "thb/cooperation/v1/cooperation.pb.h"

namespace thb::cooperation {

// Limits of one record.
inline constexpr size_t kMaxTitleLength = 200;
inline constexpr size_t kMaxDescriptionLength = 10000;
inline constexpr size_t kMaxShortTextLength = 2000;
inline constexpr int kMaxListLength = 100;
inline constexpr int kMinYear = 1900;
inline constexpr int kMaxYear = 2100;
// A record's writable fields serialized in their canonical form: what one
// write may add to the records, to the change log, and to a response.
inline constexpr size_t kMaxRecordBytes = 64 * 1024;
// "YYYY-MM-DD".
inline constexpr size_t kDateLength = 10;

// The path of a field in a request ("records[12].partners[2].id"), spelled
// out only when an error names it: each level refers to its parent, so a
// path must not outlive the paths it was built from.
class FieldPath {
 public:
  // A root: "record", or a whole path given as text ("record.id").
  FieldPath(const char* name) : name_(name) {}  // NOLINT: implicit by design
  FieldPath(std::string_view name) : name_(name) {}  // NOLINT
  // The field `name` of `parent`: "parent.name".
  FieldPath(const FieldPath& parent, std::string_view name)
      : parent_(&parent), name_(name) {}
  // The element `index` of the list `parent`: "parent[index]".
  FieldPath(const FieldPath& parent, int index)
      : parent_(&parent), index_(index) {}

  std::string ToString() const;

 private:
  void AppendTo(std::string& out) const;

  const FieldPath* parent_ = nullptr;
  std::string_view name_;
  int index_ = -1;
};

// Record ids: lower-kebab, 1 to 63 characters ("fn15-el").
absl::Status ValidateRecordId(const std::string& id, const FieldPath& field);

// Checks every field of `record` and brings it to its canonical form: codes
// resolved against the registry (GR is stored as EL), repeated enum values
// and tags sorted without duplicates, fields this build does not know
// dropped (nothing is stored that nothing checked). Errors are INVALID_ARGUMENT
// naming the field under `prefix` ("record.partners[2].id") and the refused
// value. Output-only fields are ignored and do not count towards
// kMaxRecordBytes.
absl::Status ValidateRecord(v1::CooperationRecord& record,
                            const registry::RegistrySnapshot& registry,
                            const FieldPath& prefix);

}  // namespace thb::cooperation

#endif  // THB_SERVICES_COOPERATION_RECORD_VALIDATION_H_
