#include "common/fingerprint.h"

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace thb {

uint64_t Fingerprint64(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

uint64_t MessageFingerprint(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&out);
  }
  return Fingerprint64(bytes);
}

std::string FingerprintHex(uint64_t fingerprint) {
  // As "%016x" would write it, without a format string to interpret: etags
  // are written for every record of a batch.
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, fingerprint >>= 4) {
    hex[i] = kDigits[fingerprint & 0xf];
  }
  return hex;
}

}  // namespace thb
