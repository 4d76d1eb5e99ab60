#include "common/config.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace thb {

absl::Status ApplyEnvironment(const std::vector<EnvBinding>& bindings) {
  for (const EnvBinding& binding : bindings) {
    const char* value = std::getenv(binding.env.c_str());
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(binding.flag);
    if (flag == nullptr) {
      // A binding to a flag that is not linked in is a bug of the binary,
      // not of its environment.
      return absl::InternalError(
          absl::StrCat("environment variable ", binding.env, " is bound to --",
                       binding.flag, ", which does not exist"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "environment variable ", binding.env, "=", value, ": ", error));
    }
  }
  return absl::OkStatus();
}

void ParseFlagsWithEnvironment(int argc, char** argv,
                               const std::vector<EnvBinding>& bindings,
                               const char* usage) {
  absl::SetProgramUsageMessage(usage);
  if (absl::Status status = ApplyEnvironment(bindings); !status.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0],
                 std::string(status.message()).c_str());
    std::exit(2);
  }
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  // The caller gets no positional arguments, so one given is a mistake, most
  // likely a flag value separated from a flag that takes none.
  if (positional.size() > 1) {
    std::fprintf(
        stderr, "%s: unexpected arguments: %s\n", argv[0],
        absl::StrJoin(positional.begin() + 1, positional.end(), " ").c_str());
    std::exit(2);
  }
}

}  // namespace thb
