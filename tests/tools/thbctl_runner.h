#ifndef THB_TESTS_TOOLS_THBCTL_RUNNER_H_
#define THB_TESTS_TOOLS_THBCTL_RUNNER_H_

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace thb::testing {

// What a run of thbctl left behind.
struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::ostream& operator<<(std::ostream& os, const Outcome& outcome);

// Runs the thbctl binary of the test (THBCTL_BIN) as the TestPki's admin
// (THB_TLS_* in the environment) with `args`, `env` added
// to the environment, in directory `cwd` (this one when empty); stdout and
// stderr go to files read after the exit. A run that takes over a minute is
// killed and fails the test.
Outcome RunThbctl(const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env = {},
                  const std::string& cwd = "");

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& contents);

}  // namespace thb::testing

#endif  // THB_TESTS_TOOLS_THBCTL_RUNNER_H_
