#ifndef THB_TESTS_SUPPORT_PROCESS_H_
#define THB_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace thb::testing {

// A child process of a test: a real server binary started with arguments
// and environment, its stderr kept in a file for failure messages.
class Process {
 public:
  // Starts `binary` with `args`; `env` entries are added to the test's
  // environment. The child is killed when the Process is destroyed, and
  // when the thread that started it ends (PR_SET_PDEATHSIG), so that an
  // aborted test leaves no server behind: start long-lived children from
  // the test's own thread.
  static absl::StatusOr<Process> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const std::map<std::string, std::string>& env = {});

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  pid_t pid() const { return pid_; }
  bool running();

  // Sends `signal`, then waits up to `timeout` for the exit. Returns the
  // exit code, or 128 + signal number when a signal ended it.
  absl::StatusOr<int> Signal(int signal, absl::Duration timeout);
  // SIGKILL and reap.
  void Kill();

  // What the child wrote to stderr so far.
  std::string Log() const;

 private:
  Process(pid_t pid, std::string log_path)
      : pid_(pid), log_path_(std::move(log_path)) {}

  pid_t pid_ = -1;
  std::string log_path_;
};

// A fresh directory under the test's temporary directory.
std::string MakeTempDir(const std::string& prefix);

// Waits until `path` holds a port number written by a server, and returns
// it; DEADLINE_EXCEEDED after `timeout`, or FAILED_PRECONDITION if `process`
// exits first.
absl::StatusOr<int> WaitForPortFile(const std::string& path, Process& process,
                                    absl::Duration timeout);

}  // namespace thb::testing

#endif  // THB_TESTS_SUPPORT_PROCESS_H_
