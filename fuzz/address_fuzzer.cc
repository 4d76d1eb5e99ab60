// Addresses as users give them (--registry, THB_*_ADDRESS, --host): turning
// a list into a gRPC target never crashes and is stable (a target is its own
// target), a static list holds only literal addresses of one family, and a
// channel can be made from whatever the user wrote.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/channel.h"
#include "common/server.h"
#include "fuzz/fuzz_support.h"
#include "grpcpp/security/credentials.h"

// gRPC logs every target it cannot parse; the run's output is for findings.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("GRPC_VERBOSITY", "NONE", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string target = thb::ChannelTarget(text);
  THB_FUZZ_CHECK(thb::ChannelTarget(target) == target, target);
  // A list ChannelTarget made (not one the user wrote as a target already).
  const bool made = target != absl::StripAsciiWhitespace(text);
  if (made) {
    THB_FUZZ_CHECK(
        absl::StartsWith(target, "ipv4:") || absl::StartsWith(target, "ipv6:"),
        target);
    for (absl::string_view address :
         absl::StrSplit(absl::string_view(target).substr(5), ',')) {
      THB_FUZZ_CHECK(!address.empty() && address.find(' ') == address.npos,
                     target);
    }
  }
  (void)thb::IsLoopbackHost(text);

  // The channel's own parsing of the target (and of the TLS server name it
  // derives from it); nothing connects until a call is made.
  if (text.find('\0') == std::string::npos) {
    thb::ChannelOptions options;
    options.credentials = grpc::InsecureChannelCredentials();
    options.max_read_attempts = 1;
    (void)thb::MakeChannel(text, options);
  }
  return 0;
}
