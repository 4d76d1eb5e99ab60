#ifndef THB_COMMON_CONFIG_H_
#define THB_COMMON_CONFIG_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/status/status.h"

namespace thb {

// A flag and the environment variable that sets it when the command line
// does not: {"port", "THB_REGISTRY_PORT"}.
struct EnvBinding {
  std::string flag;
  std::string env;
};

// Sets each bound flag from its environment variable, if that is set, before
// absl::ParseCommandLine; flags given on the command line then win. A value
// the flag cannot parse is INVALID_ARGUMENT naming the variable and value.
absl::Status ApplyEnvironment(const std::vector<EnvBinding>& bindings);

// Parses argv (absl flags) after ApplyEnvironment; exits with a message on a
// bad environment value, like absl does for a bad flag.
void ParseFlagsWithEnvironment(int argc, char** argv,
                               const std::vector<EnvBinding>& bindings,
                               const char* usage);

}  // namespace thb

#endif  // THB_COMMON_CONFIG_H_
