#ifndef THB_COMMON_UPDATE_MASK_H_
#define THB_COMMON_UPDATE_MASK_H_

#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"

namespace thb {

// The mask an update applies: the paths of `requested`, each one of
// `writable`, or every writable field when `requested` is empty (an update
// without a mask replaces the whole resource). A path that is not writable
// is INVALID_ARGUMENT on field "update_mask.paths[<i>]", naming the path,
// `resource` as the message writes it ("country", "a record") and the
// writable fields.
absl::StatusOr<google::protobuf::FieldMask> EffectiveUpdateMask(
    const google::protobuf::FieldMask& requested,
    const std::set<std::string>& writable, std::string_view resource);

// Copies the fields `mask` names from `from` into `to`, both of one message
// type. A repeated or message field is replaced whole, never merged: an
// update that sends a shorter list means the shorter list.
void ApplyUpdateMask(const google::protobuf::Message& from,
                     const google::protobuf::FieldMask& mask,
                     google::protobuf::Message* to);

}  // namespace thb

#endif  // THB_COMMON_UPDATE_MASK_H_
