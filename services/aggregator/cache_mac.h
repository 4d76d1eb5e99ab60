#ifndef THB_SERVICES_AGGREGATOR_CACHE_MAC_H_
#define THB_SERVICES_AGGREGATOR_CACHE_MAC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace thb::aggregator {

// Seals the values the aggregators keep in Redis with HMAC-SHA256 under a
// key they share, so that a value written by anyone else (whoever reached
// Redis) or moved to another key is never served. A sealed value, format
// version 1:
//
//   byte 0        0x01, the format version
//   bytes 1..32   HMAC-SHA256(key, 0x01 || 8-byte big-endian length of the
//                 Redis key || the Redis key || the value)
//   bytes 33..    the value
//
// The Redis key is covered, so a value is valid under its own key only; its
// length is, so no split of key and value reads as another. Integrity only:
// the value itself is readable by whoever reads Redis.
class CacheMac {
 public:
  static constexpr uint8_t kVersion = 1;
  static constexpr size_t kTagBytes = 32;
  static constexpr size_t kHeaderBytes = 1 + kTagBytes;
  // SHA-256's output size: a shorter key is weaker than the MAC it keys.
  static constexpr size_t kMinKeyBytes = 32;

  // INVALID_ARGUMENT if `key` is shorter than kMinKeyBytes; INTERNAL if
  // OpenSSL offers no HMAC-SHA256.
  static absl::StatusOr<CacheMac> FromKey(std::string key);
  // The key is the file's bytes as they are (--cache_hmac_key_file). Errors
  // name the file, never its content.
  static absl::StatusOr<CacheMac> FromKeyFile(const std::string& path);

  CacheMac(CacheMac&& other) noexcept = default;
  CacheMac& operator=(CacheMac&& other) noexcept = default;
  CacheMac(const CacheMac&) = delete;
  CacheMac& operator=(const CacheMac&) = delete;
  ~CacheMac();

  // `value` sealed for `redis_key`.
  absl::StatusOr<std::string> Seal(std::string_view redis_key,
                                   std::string_view value) const;
  // The value of `sealed` if it was sealed for `redis_key` with this key;
  // DATA_LOSS saying why not (too short, unknown version, wrong MAC), never
  // showing the value.
  absl::StatusOr<std::string> Open(std::string_view redis_key,
                                   std::string_view sealed) const;

 private:
  explicit CacheMac(std::string key) : key_(std::move(key)) {}

  // The tag of `value` under `redis_key`, written to `tag`.
  absl::Status Tag(std::string_view redis_key, std::string_view value,
                   unsigned char (&tag)[kTagBytes]) const;

  std::string key_;
};

}  // namespace thb::aggregator

#endif  // THB_SERVICES_AGGREGATOR_CACHE_MAC_H_
