#ifndef THB_COMMON_REDIS_CLIENT_H_
#define THB_COMMON_REDIS_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

struct redisContext;
struct redisReply;

namespace thb {

struct RedisOptions {
  // "host:port" ("[::1]:6379" for IPv6) or "unix:/path/to/redis.sock".
  std::string address;
  // Sent on every new connection before any command: "AUTH user password"
  // with an ACL user, else "AUTH password"; nothing when empty. Never shown
  // in a message or log.
  std::string user;
  std::string password;
  // At most this many connections, and so this many commands in flight.
  int pool_size = 8;
  absl::Duration connect_timeout = absl::Milliseconds(250);
  absl::Duration command_timeout = absl::Milliseconds(250);
  // How long a command waits for a free connection when all are busy.
  absl::Duration checkout_timeout = absl::Milliseconds(250);
  // After a failure no command is tried for `backoff_initial`, doubled on
  // every further failure up to `backoff_max`; a success resets it.
  absl::Duration backoff_initial = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(5);
};

struct RedisCounters {
  int64_t hits = 0;      // GET found the key
  int64_t misses = 0;    // GET did not find the key
  int64_t errors = 0;    // commands tried that failed
  int64_t bypasses = 0;  // commands refused untried during a backoff
};

// The password in the file at `path` (--redis_password_file), without one
// trailing newline; INVALID_ARGUMENT naming the file if it cannot be read or
// holds no password.
absl::StatusOr<std::string> ReadRedisPasswordFile(const std::string& path);

// A checkout pool of blocking connections to one Redis server, safe to use
// from any number of threads (a hiredis context is not: each is used by one
// thread at a time). Connections open lazily. Commands block for at most
// checkout + connect + command timeouts: call them where blocking is
// allowed, never on a gRPC reactor thread.
//
// Redis is a cache here, so every failure (refused or timed-out connection,
// timeout, protocol error, error reply) is UNAVAILABLE, drops the
// connection, and opens a backoff window during which commands answer
// UNAVAILABLE at once: an unreachable Redis costs callers nothing. When the
// window ends, one command probes; the others keep being refused until it
// succeeds. A refused AUTH is such a failure too, logged at every attempt
// to reconnect (a wrong password does not heal the way an outage does).
class RedisPool {
 public:
  // INVALID_ARGUMENT for a malformed address or option; does not connect.
  static absl::StatusOr<std::unique_ptr<RedisPool>> Create(
      RedisOptions options);

  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // The value of `key`, or nullopt if it is not set. Keys and values are
  // binary-safe.
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key);
  // SET key value PX <ttl in ms>; INVALID_ARGUMENT if `ttl` is under 1 ms.
  absl::Status Set(std::string_view key, std::string_view value,
                   absl::Duration ttl);
  // Whether `key` existed.
  absl::StatusOr<bool> Del(std::string_view key);
  absl::Status Ping();

  RedisCounters counters() const;
  const RedisOptions& options() const { return options_; }

 private:
  struct ContextDeleter {
    void operator()(redisContext* context) const;
  };
  using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;
  struct ReplyDeleter {
    void operator()(redisReply* reply) const;
  };
  using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;
  // A pool slot: a connection, or null until one is opened.
  struct Slot {
    ContextPtr context;
    // The value of `failures_seen_` when the connection opened: a
    // connection older than the last failure is presumed dead with it.
    int64_t epoch = 0;
  };
  // What a command makes of a reply that arrived: OK, or the reason it is
  // not the expected one.
  using ReplyHandler = std::function<absl::Status(const redisReply&)>;

  RedisPool(RedisOptions options, std::string host, int port,
            std::string unix_path);

  // Runs one command given as argv pieces (binary-safe) and hands the reply
  // to `on_reply`; does the checkout, connect, backoff and counting.
  absl::Status Run(const std::vector<std::string_view>& argv,
                   const ReplyHandler& on_reply);
  absl::StatusOr<Slot> Checkout();
  void Return(Slot slot);
  // Connects and authenticates; `auth_refused` says whether Redis refused
  // the AUTH.
  absl::Status Connect(Slot& slot, bool& auth_refused);
  void RecordSuccess();
  // `epoch` is the value of `failures_seen_` when the command started. The
  // first failure of a run is logged, and with `always_log` every one.
  void RecordFailure(const absl::Status& status, int64_t epoch,
                     bool always_log);
  absl::Status Unavailable(std::string_view what) const;

  const RedisOptions options_;
  const std::string host_;
  const int port_;
  const std::string unix_path_;

  absl::Mutex mu_;
  std::vector<Slot> idle_ ABSL_GUARDED_BY(mu_);
  // Consecutive failures; zero when Redis answers.
  int64_t consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  // Failures ever; tags connections with the failure they postdate.
  int64_t failures_seen_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
  absl::Time retry_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool probing_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<int64_t> hits_{0};
  std::atomic<int64_t> misses_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<int64_t> bypasses_{0};
};

}  // namespace thb

#endif  // THB_COMMON_REDIS_CLIENT_H_
