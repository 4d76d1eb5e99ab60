#ifndef THB_COMMON_CONFIG_H_
#define THB_COMMON_CONFIG_H_

#include <string>
#include <string_view>
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

// The section that ends a binary's usage text: each variable beside the flag
// it sets, in the order given, under a line "Environment:".
//   THB_REGISTRY_HOST  --host
//   THB_REGISTRY_PORT  --port
// Deployment checks read it from --help to learn which variables exist.
std::string EnvironmentUsage(const std::vector<EnvBinding>& bindings);

// Parses argv (absl flags) after ApplyEnvironment; exits with a message on a
// bad environment value, like absl does for a bad flag. `usage` says what the
// program is; --help prints it, then EnvironmentUsage, then the flags of the
// files that define the bound flags.
void ParseFlagsWithEnvironment(int argc, char** argv,
                               const std::vector<EnvBinding>& bindings,
                               std::string_view usage);

}  // namespace thb

#endif  // THB_COMMON_CONFIG_H_
