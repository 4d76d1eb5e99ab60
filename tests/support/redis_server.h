#ifndef THB_TESTS_SUPPORT_REDIS_SERVER_H_
#define THB_TESTS_SUPPORT_REDIS_SERVER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/support/process.h"

namespace thb::testing {

// Who may use a test Redis. Passwords are plain words (no spaces).
struct RedisServerOptions {
  // requirepass: the default user's password; empty: none.
  std::string password;
  // An ACL user allowed every command on every key, and its password.
  std::string acl_user;
  std::string acl_password;
};

// A real redis-server (found on PATH, or named by $THB_REDIS_SERVER) on a
// free loopback port, without persistence, in a fresh directory; a Unix
// socket is opened in that directory too when its path is short enough.
class RedisServer {
 public:
  // Starts it and waits until it answers PING.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      RedisServerOptions options = {});

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // "127.0.0.1:<port>".
  std::string address() const;
  int port() const { return port_; }
  // "unix:<path>", or "" when the socket path would be too long.
  std::string unix_address() const;

  // SIGKILL: connections drop, the port refuses.
  void Kill();
  // Starts again, empty, on the same port with the same options, and waits
  // until it answers PING.
  absl::Status Restart();
  // SIGSTOP / SIGCONT: connections stay open but nothing answers.
  void Pause();
  void Resume();
  bool running() { return process_ != nullptr && process_->running(); }

  // Sends one command on a fresh connection (authenticated with the
  // default user's password, if it has one), for checking or planting what
  // the code under test reads. The reply as text: a string or status as is,
  // an integer in decimal, nil as "(nil)"; an error reply is an error.
  absl::StatusOr<std::string> Command(const std::vector<std::string>& argv);

 private:
  RedisServer(std::string binary, std::string dir, RedisServerOptions options)
      : binary_(std::move(binary)),
        dir_(std::move(dir)),
        options_(std::move(options)) {}

  // Starts on `port_` (0: a free one) and waits for PING.
  absl::Status Launch();
  absl::Status WaitUntilAnswering();

  std::string binary_;
  std::string dir_;
  RedisServerOptions options_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace thb::testing

#endif  // THB_TESTS_SUPPORT_REDIS_SERVER_H_
