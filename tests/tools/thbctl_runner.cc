#include "tests/tools/thbctl_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace thb::testing {
namespace {

constexpr absl::Duration kCommandTimeout = absl::Seconds(60);

}  // namespace

std::ostream& operator<<(std::ostream& os, const Outcome& outcome) {
  return os << "exit " << outcome.exit_code << "\n--- stdout\n"
            << outcome.out << "--- stderr\n"
            << outcome.err;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

Outcome RunThbctl(const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env,
                  const std::string& cwd) {
  static int runs = 0;
  // The admin's identity unless the test says who calls; made before the
  // fork, since making the PKI may run commands.
  std::map<std::string, std::string> environment =
      TestPki::Get().ClientEnv("admin");
  for (const auto& [key, value] : env) environment[key] = value;
  const std::string dir = MakeTempDir("thbctl-run");
  const std::string out_path = absl::StrCat(dir, "/out", runs);
  const std::string err_path = absl::StrCat(dir, "/err", runs++);
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) _exit(126);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    close(out);
    close(err);
    for (const auto& [key, value] : environment) {
      setenv(key.c_str(), value.c_str(), 1);
    }
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    std::vector<char*> argv = {const_cast<char*>(THBCTL_BIN)};
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv(THBCTL_BIN, argv.data());
    _exit(127);
  }
  Outcome outcome;
  if (pid < 0) {
    ADD_FAILURE() << "fork failed";
    return outcome;
  }
  const absl::Time give_up = absl::Now() + kCommandTimeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (absl::Now() > give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "thbctl " << absl::StrJoin(args, " ")
                    << " did not finish within " << kCommandTimeout;
      break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  outcome.out = ReadFile(out_path);
  outcome.err = ReadFile(err_path);
  std::filesystem::remove_all(dir);
  return outcome;
}

}  // namespace thb::testing
