// Page tokens: any bytes decode to a key or an error, never a crash; a key
// comes back from its own token, and only under the filter hash it was made
// with.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/page_token.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t hash = 0;
  const size_t head = size < sizeof(hash) ? size : sizeof(hash);
  std::memcpy(&hash, data, head);
  const std::string_view rest(reinterpret_cast<const char*>(data) + head,
                              size - head);

  // As a token someone sent.
  (void)thb::DecodePageToken(rest, hash);

  // As a key a page ended on.
  const std::string token = thb::EncodePageToken(rest, hash);
  auto key = thb::DecodePageToken(token, hash);
  THB_FUZZ_CHECK(key.ok(), key.status().ToString());
  THB_FUZZ_CHECK(*key == rest, token);
  auto other = thb::DecodePageToken(token, hash ^ 1);
  THB_FUZZ_CHECK(!other.ok(), token);
  return 0;
}
