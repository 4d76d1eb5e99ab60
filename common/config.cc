#include "common/config.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/string_view.h"

namespace thb {
namespace {

// A source file's path in the project, "services/registry/main.cc", from the
// path the compiler was given, with or without absl's own normalization.
std::string InTree(absl::string_view file) {
  constexpr absl::string_view kThisFile = __FILE__;
  constexpr absl::string_view kInTree = "common/config.cc";
  absl::string_view root =
      absl::EndsWith(kThisFile, kInTree)
          ? kThisFile.substr(0, kThisFile.size() - kInTree.size())
          : absl::string_view();
  for (absl::string_view* path : {&file, &root}) {
    while (absl::ConsumePrefix(path, "/") || absl::ConsumePrefix(path, "./")) {
    }
  }
  if (!root.empty()) absl::ConsumePrefix(&file, root);
  return std::string(file);
}

// --help lists the flags of the files that define the bound ones (a
// service's main.cc), not those of gRPC's or absl's own files.
void ShowBoundFlagsInHelp(const std::vector<EnvBinding>& bindings) {
  std::set<std::string> files;
  for (const EnvBinding& binding : bindings) {
    if (const absl::CommandLineFlag* flag =
            absl::FindCommandLineFlag(binding.flag)) {
      files.insert(InTree(flag->Filename()));
    }
  }
  // One call: SetFlagsUsageConfig resets whatever it is not given.
  absl::FlagsUsageConfig config;
  config.normalize_filename = InTree;
  config.contains_help_flags = [files](absl::string_view file) {
    return files.count(InTree(file)) > 0;
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(std::move(config));
}

}  // namespace

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

std::string EnvironmentUsage(const std::vector<EnvBinding>& bindings) {
  size_t width = 0;
  for (const EnvBinding& binding : bindings) {
    width = std::max(width, binding.env.size());
  }
  std::string text =
      "Each variable below sets the flag beside it; a flag given on the "
      "command\nline wins.\n\nEnvironment:\n";
  for (const EnvBinding& binding : bindings) {
    absl::StrAppend(&text, "  ", binding.env,
                    std::string(width - binding.env.size() + 2, ' '), "--",
                    binding.flag, "\n");
  }
  return text;
}

void ParseFlagsWithEnvironment(int argc, char** argv,
                               const std::vector<EnvBinding>& bindings,
                               std::string_view usage) {
  absl::SetProgramUsageMessage(
      absl::StrCat(ToAbsl(usage), "\n\n", EnvironmentUsage(bindings)));
  ShowBoundFlagsInHelp(bindings);
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
