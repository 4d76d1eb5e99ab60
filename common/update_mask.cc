#include "common/update_mask.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "common/string_view.h"
#include "google/protobuf/util/field_mask_util.h"

namespace thb {

using google::protobuf::FieldMask;
using google::protobuf::util::FieldMaskUtil;

absl::StatusOr<FieldMask> EffectiveUpdateMask(
    const FieldMask& requested, const std::set<std::string>& writable,
    std::string_view resource) {
  FieldMask mask;
  if (requested.paths().empty()) {
    for (const auto& path : writable) mask.add_paths(path);
    return mask;
  }
  for (int i = 0; i < requested.paths_size(); ++i) {
    const std::string& path = requested.paths(i);
    if (!writable.count(path)) {
      return InvalidArgument(
          absl::StrCat("update_mask.paths[", i, "]"),
          absl::StrCat("\"", path, "\" is not a writable field of ",
                       ToAbsl(resource),
                       "; writable: ", absl::StrJoin(writable, ", ")));
    }
    mask.add_paths(path);
  }
  return mask;
}

void ApplyUpdateMask(const google::protobuf::Message& from,
                     const FieldMask& mask, google::protobuf::Message* to) {
  FieldMaskUtil::MergeOptions options;
  options.set_replace_repeated_fields(true);
  options.set_replace_message_fields(true);
  FieldMaskUtil::MergeMessageTo(from, mask, options, to);
}

}  // namespace thb
