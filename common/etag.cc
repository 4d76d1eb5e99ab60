#include "common/etag.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/fingerprint.h"
#include "common/string_view.h"

namespace thb {

std::string MakeEtag(std::string_view scope, std::string_view id,
                     int64_t revision) {
  return FingerprintHex(Fingerprint64(
      absl::StrCat(ToAbsl(scope), "/", ToAbsl(id), "@", revision)));
}

absl::Status CheckEtag(std::string_view resource_type,
                       std::string_view resource_name, std::string_view sent,
                       std::string_view current) {
  if (sent.empty() || sent == current) return absl::OkStatus();
  return EtagMismatch(resource_type, resource_name, sent, current);
}

}  // namespace thb
