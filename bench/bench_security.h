#ifndef THB_BENCH_BENCH_SECURITY_H_
#define THB_BENCH_BENCH_SECURITY_H_

// How a benchmark client proves who it is: the suite's client security
// flags and their environment variables (common/client_flags.h), so that a
// benchmark speaks mutual TLS like any other client unless it is told
// --insecure. Each benchmark's main.cc defines the flags with
// THB_CLIENT_SECURITY_FLAGS().

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/flags/flag.h"
#include "common/channel.h"
#include "common/client_flags.h"
#include "common/config.h"

namespace thb::bench {

// Parses argv after applying THB_TLS_CA, THB_TLS_CERT, THB_TLS_KEY,
// THB_TOKEN and THB_INSECURE; exits 2 on a bad value.
inline void ParseBenchFlags(int argc, char** argv, std::string_view usage) {
  ParseFlagsWithEnvironment(argc, argv, ClientSecurityBindings(), usage);
}

// The options of every channel the benchmark opens; exits 2 naming the flag
// when the flags make no credentials. A plaintext run says so on stderr, so
// that its figures are never mistaken for those of a deployment.
inline ChannelOptions BenchChannelOptions(const char* program) {
  const ChannelSecurity security = ClientSecurityFromFlags();
  auto credentials = MakeChannelCredentials(security);
  if (!credentials.ok()) {
    std::fprintf(stderr, "%s: %s\n", program,
                 std::string(credentials.status().message()).c_str());
    std::exit(2);
  }
  if (security.insecure) {
    std::fprintf(stderr,
                 "%s: plaintext (--insecure): no TLS, no authorization\n",
                 program);
  }
  ChannelOptions options;
  options.credentials = std::move(*credentials);
  return options;
}

}  // namespace thb::bench

#endif  // THB_BENCH_BENCH_SECURITY_H_
