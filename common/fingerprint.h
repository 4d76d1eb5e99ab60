#ifndef THB_COMMON_FINGERPRINT_H_
#define THB_COMMON_FINGERPRINT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "google/protobuf/message.h"

namespace thb {

// 64-bit FNV-1a: the same value in every process and build, unlike
// absl::Hash, so it can go into tokens and etags that outlive a process.
uint64_t Fingerprint64(std::string_view bytes);

// Fingerprint of a message's deterministic serialization.
uint64_t MessageFingerprint(const google::protobuf::Message& message);

// SHA-256 of a message's deterministic serialization, as 64 lower-case hex
// digits: for keys a caller chooses the content of, where two requests
// must never be made to share one (FNV-1a collisions are easy to find).
std::string MessageDigestHex(const google::protobuf::Message& message);

// Sixteen lower-case hex digits.
std::string FingerprintHex(uint64_t fingerprint);

}  // namespace thb

#endif  // THB_COMMON_FINGERPRINT_H_
