// The test's child processes die with the test: an aborted test leaves no
// server behind.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace thb::testing {
namespace {

// False once `pid` is gone or a zombie nobody reaped yet.
bool Alive(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string pid_field, name, state;
  if (!(stat >> pid_field >> name >> state)) return false;
  return state != "Z" && state != "X";
}

TEST(ProcessTest, AChildDiesWithTheProcessThatStartedIt) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  // A stand-in for a test that aborts: it starts a server, then dies
  // without destroying the Process.
  const pid_t test = fork();
  ASSERT_GE(test, 0);
  if (test == 0) {
    close(pipe_fds[0]);
    auto child = Process::Start("/bin/sleep", {"60"});
    const pid_t pid = child.ok() ? child->pid() : -1;
    (void)!write(pipe_fds[1], &pid, sizeof(pid));
    _exit(0);
  }
  close(pipe_fds[1]);
  pid_t child = -1;
  ASSERT_EQ(read(pipe_fds[0], &child, sizeof(child)),
            static_cast<ssize_t>(sizeof(child)));
  close(pipe_fds[0]);
  ASSERT_GT(child, 0);
  int status;
  ASSERT_EQ(waitpid(test, &status, 0), test);

  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (Alive(child) && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const bool alive = Alive(child);
  if (alive) kill(child, SIGKILL);
  EXPECT_FALSE(alive) << "the child outlived the test that started it";
}

}  // namespace
}  // namespace thb::testing
