#include "common/redis_client.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/secret_file.h"
#include "common/string_view.h"

namespace thb {
namespace {

constexpr std::string_view kUnixPrefix = "unix:";

// hiredis writes with write(2): a write to a connection Redis has closed
// raises SIGPIPE, which by default ends the process. Rather than change the
// process-wide disposition, the signal is blocked for the calling thread
// while it talks to Redis, and one raised meanwhile is consumed (the write
// then fails with EPIPE, which is handled like any connection error).
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    // One already pending belongs to someone else: leave it alone.
    already_pending_ = sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &previous_) == 0;
  }
  ~ScopedSigpipeBlock() {
    if (!blocked_) return;
    if (!already_pending_) {
      const struct timespec zero = {0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t previous_;
  bool already_pending_ = false;
  bool blocked_ = false;
};

std::string_view ReplyText(const redisReply& reply) {
  return std::string_view(reply.str, reply.len);
}

absl::Status UnexpectedReply(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return absl::InternalError(
          absl::StrCat("unexpected reply \"", ToAbsl(ReplyText(reply)), "\""));
    case REDIS_REPLY_INTEGER:
      return absl::InternalError(
          absl::StrCat("unexpected integer reply ", reply.integer));
    default:
      return absl::InternalError(
          absl::StrCat("unexpected reply of type ", reply.type));
  }
}

// hiredis reports a timeout as the bare EAGAIN message.
std::string DescribeIoError(const redisContext& context, int error_number,
                            absl::Duration timeout) {
  if (context.err == REDIS_ERR_IO &&
      (error_number == EAGAIN || error_number == EWOULDBLOCK ||
       error_number == ETIMEDOUT)) {
    return absl::StrCat("no answer within ", absl::FormatDuration(timeout));
  }
  if (context.errstr[0] == '\0') return "no reply";
  return context.errstr;
}

}  // namespace

absl::StatusOr<std::string> ReadRedisPasswordFile(const std::string& path) {
  constexpr std::string_view kWhat = "redis password file";
  absl::StatusOr<std::string> password = ReadSecretFile(kWhat, path);
  if (!password.ok()) return password.status();
  // Editors and `echo` end a file with a newline; it is not the password's.
  if (!password->empty() && password->back() == '\n') {
    password->pop_back();
    if (!password->empty() && password->back() == '\r') password->pop_back();
  }
  if (password->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(kWhat), " \"", path, "\": holds no password"));
  }
  return password;
}

void RedisPool::ContextDeleter::operator()(redisContext* context) const {
  redisFree(context);
}

void RedisPool::ReplyDeleter::operator()(redisReply* reply) const {
  freeReplyObject(reply);
}

absl::StatusOr<std::unique_ptr<RedisPool>> RedisPool::Create(
    RedisOptions options) {
  auto invalid = [](std::string_view field, std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis ", ToAbsl(field), ": ", ToAbsl(why)));
  };
  if (options.pool_size < 1) {
    return invalid("pool_size",
                   absl::StrCat(options.pool_size, " is not at least 1"));
  }
  for (const auto& [field, value] :
       {std::pair{"connect_timeout", options.connect_timeout},
        std::pair{"command_timeout", options.command_timeout},
        std::pair{"backoff_initial", options.backoff_initial}}) {
    if (value <= absl::ZeroDuration()) {
      return invalid(
          field, absl::StrCat(absl::FormatDuration(value), " is not positive"));
    }
  }
  if (options.checkout_timeout < absl::ZeroDuration()) {
    return invalid("checkout_timeout", "is negative");
  }
  if (options.backoff_max < options.backoff_initial) {
    return invalid("backoff_max", "is shorter than backoff_initial");
  }
  if (!options.user.empty() && options.password.empty()) {
    return invalid("user", absl::StrCat("\"", options.user,
                                        "\" is given without a password"));
  }

  const std::string& address = options.address;
  std::string host;
  int port = 0;
  std::string unix_path;
  if (address.compare(0, kUnixPrefix.size(), kUnixPrefix) == 0) {
    unix_path = address.substr(kUnixPrefix.size());
    if (unix_path.empty()) {
      return invalid("address",
                     absl::StrCat("\"", address, "\" names no socket path"));
    }
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 1 ||
        port > 65535) {
      return invalid("address",
                     absl::StrCat("\"", address, "\" is not host:port"));
    }
    host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) {
      return invalid("address",
                     absl::StrCat("\"", address, "\" names no host"));
    }
  }
  return std::unique_ptr<RedisPool>(new RedisPool(
      std::move(options), std::move(host), port, std::move(unix_path)));
}

RedisPool::RedisPool(RedisOptions options, std::string host, int port,
                     std::string unix_path)
    : options_(std::move(options)),
      host_(std::move(host)),
      port_(port),
      unix_path_(std::move(unix_path)),
      backoff_(options_.backoff_initial) {
  idle_.resize(static_cast<size_t>(options_.pool_size));
}

RedisPool::~RedisPool() = default;

absl::StatusOr<std::optional<std::string>> RedisPool::Get(
    std::string_view key) {
  std::optional<std::string> value;
  const absl::Status status =
      Run({"GET", key}, [&value](const redisReply& reply) {
        if (reply.type == REDIS_REPLY_NIL) return absl::OkStatus();
        if (reply.type != REDIS_REPLY_STRING) return UnexpectedReply(reply);
        value.emplace(reply.str, reply.len);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  (value.has_value() ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return value;
}

absl::Status RedisPool::Set(std::string_view key, std::string_view value,
                            absl::Duration ttl) {
  const int64_t ttl_ms = absl::ToInt64Milliseconds(ttl);
  if (ttl_ms < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "redis SET ttl: ", absl::FormatDuration(ttl), " is under 1ms"));
  }
  const std::string ttl_text = absl::StrCat(ttl_ms);
  return Run({"SET", key, value, "PX", ttl_text}, [](const redisReply& reply) {
    if (reply.type == REDIS_REPLY_STATUS && ReplyText(reply) == "OK") {
      return absl::OkStatus();
    }
    return UnexpectedReply(reply);
  });
}

absl::StatusOr<bool> RedisPool::Del(std::string_view key) {
  bool existed = false;
  const absl::Status status =
      Run({"DEL", key}, [&existed](const redisReply& reply) {
        if (reply.type != REDIS_REPLY_INTEGER) return UnexpectedReply(reply);
        existed = reply.integer > 0;
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return existed;
}

absl::Status RedisPool::Ping() {
  return Run({"PING"}, [](const redisReply& reply) {
    if (reply.type == REDIS_REPLY_STATUS && ReplyText(reply) == "PONG") {
      return absl::OkStatus();
    }
    return UnexpectedReply(reply);
  });
}

RedisCounters RedisPool::counters() const {
  RedisCounters counters;
  counters.hits = hits_.load(std::memory_order_relaxed);
  counters.misses = misses_.load(std::memory_order_relaxed);
  counters.errors = errors_.load(std::memory_order_relaxed);
  counters.bypasses = bypasses_.load(std::memory_order_relaxed);
  return counters;
}

absl::Status RedisPool::Run(const std::vector<std::string_view>& argv,
                            const ReplyHandler& on_reply) {
  bool probe = false;
  int64_t epoch = 0;
  absl::Duration wait;
  {
    absl::MutexLock lock(&mu_);
    epoch = failures_seen_;
    if (consecutive_failures_ > 0) {
      const absl::Time now = absl::Now();
      if (now < retry_at_ || probing_) {
        wait = std::max(retry_at_ - now, absl::ZeroDuration());
      } else {
        probing_ = true;
        probe = true;
      }
    }
    if (consecutive_failures_ > 0 && !probe) {
      bypasses_.fetch_add(1, std::memory_order_relaxed);
      return Unavailable(absl::StrCat(
          "not tried after ", consecutive_failures_,
          " consecutive failures; next attempt in ",
          absl::FormatDuration(absl::Ceil(wait, absl::Milliseconds(1)))));
    }
  }

  absl::StatusOr<Slot> slot = Checkout();
  if (!slot.ok()) {
    // Every connection busy says nothing about Redis itself: no backoff.
    errors_.fetch_add(1, std::memory_order_relaxed);
    if (probe) {
      absl::MutexLock lock(&mu_);
      probing_ = false;
    }
    return slot.status();
  }

  absl::Status status;
  bool auth_refused = false;
  {
    ScopedSigpipeBlock no_sigpipe;
    if (slot->context == nullptr) {
      slot->epoch = epoch;
      status = Connect(*slot, auth_refused);
    }
    if (status.ok()) {
      std::vector<const char*> pieces;
      std::vector<size_t> lengths;
      pieces.reserve(argv.size());
      lengths.reserve(argv.size());
      for (std::string_view piece : argv) {
        pieces.push_back(piece.data());
        lengths.push_back(piece.size());
      }
      ReplyPtr reply(static_cast<redisReply*>(
          redisCommandArgv(slot->context.get(), static_cast<int>(argv.size()),
                           pieces.data(), lengths.data())));
      const int error_number = errno;
      if (reply == nullptr) {
        status = Unavailable(
            absl::StrCat(ToAbsl(argv.front()), ": ",
                         DescribeIoError(*slot->context, error_number,
                                         options_.command_timeout)));
      } else if (reply->type == REDIS_REPLY_ERROR) {
        status = Unavailable(absl::StrCat(ToAbsl(argv.front()), ": ",
                                          ToAbsl(ReplyText(*reply))));
      } else if (absl::Status handled = on_reply(*reply); !handled.ok()) {
        status = Unavailable(
            absl::StrCat(ToAbsl(argv.front()), ": ", handled.message()));
      }
    }
    // A connection that saw an error may hold half a reply: never reuse it.
    if (!status.ok()) slot->context.reset();
  }
  Return(*std::move(slot));

  if (status.ok()) {
    RecordSuccess();
  } else {
    errors_.fetch_add(1, std::memory_order_relaxed);
    RecordFailure(status, epoch, /*always_log=*/auth_refused);
  }
  return status;
}

absl::StatusOr<RedisPool::Slot> RedisPool::Checkout() {
  Slot slot;
  {
    absl::MutexLock lock(&mu_);
    auto has_idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty();
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&has_idle),
                              options_.checkout_timeout)) {
      return Unavailable(
          absl::StrCat("all ", options_.pool_size, " connections busy for ",
                       absl::FormatDuration(options_.checkout_timeout)));
    }
    slot = std::move(idle_.back());
    idle_.pop_back();
    if (slot.epoch == failures_seen_) return slot;
  }
  // Opened before the last failure: presumed dead with it. Closed outside
  // the lock.
  slot.context.reset();
  return slot;
}

void RedisPool::Return(Slot slot) {
  ContextPtr stale;
  {
    absl::MutexLock lock(&mu_);
    if (slot.epoch != failures_seen_) stale = std::move(slot.context);
    idle_.push_back(std::move(slot));
  }
}

absl::Status RedisPool::Connect(Slot& slot, bool& auth_refused) {
  const struct timeval connect_timeout =
      absl::ToTimeval(options_.connect_timeout);
  ContextPtr context(
      unix_path_.empty()
          ? redisConnectWithTimeout(host_.c_str(), port_, connect_timeout)
          : redisConnectUnixWithTimeout(unix_path_.c_str(), connect_timeout));
  if (context == nullptr) {
    return Unavailable("connect: cannot allocate a connection");
  }
  if (context->err != 0) {
    return Unavailable(absl::StrCat(
        "connect: ",
        DescribeIoError(*context, errno, options_.connect_timeout)));
  }
  if (redisSetTimeout(context.get(),
                      absl::ToTimeval(options_.command_timeout)) != REDIS_OK) {
    return Unavailable(absl::StrCat("set timeout: ", context->errstr));
  }
  if (!options_.password.empty()) {
    std::vector<const char*> pieces = {"AUTH"};
    std::vector<size_t> lengths = {4};
    if (!options_.user.empty()) {
      pieces.push_back(options_.user.data());
      lengths.push_back(options_.user.size());
    }
    pieces.push_back(options_.password.data());
    lengths.push_back(options_.password.size());
    ReplyPtr reply(static_cast<redisReply*>(
        redisCommandArgv(context.get(), static_cast<int>(pieces.size()),
                         pieces.data(), lengths.data())));
    const int error_number = errno;
    if (reply == nullptr) {
      return Unavailable(absl::StrCat(
          "AUTH: ",
          DescribeIoError(*context, error_number, options_.command_timeout)));
    }
    // Redis's refusals (WRONGPASS, ERR ... no password configured) never
    // repeat the password, so they are shown as they are.
    if (reply->type == REDIS_REPLY_ERROR ||
        !(reply->type == REDIS_REPLY_STATUS && ReplyText(*reply) == "OK")) {
      auth_refused = true;
      const std::string why =
          reply->type == REDIS_REPLY_ERROR
              ? std::string(ReplyText(*reply))
              : std::string(UnexpectedReply(*reply).message());
      return Unavailable(absl::StrCat(
          "AUTH as user \"", options_.user.empty() ? "default" : options_.user,
          "\" refused: ", why));
    }
  }
  slot.context = std::move(context);
  return absl::OkStatus();
}

void RedisPool::RecordSuccess() {
  int64_t recovered_after = 0;
  {
    absl::MutexLock lock(&mu_);
    recovered_after = consecutive_failures_;
    consecutive_failures_ = 0;
    backoff_ = options_.backoff_initial;
    retry_at_ = absl::InfinitePast();
    probing_ = false;
  }
  if (recovered_after > 0) {
    THB_LOG(Info) << "redis " << options_.address << " answers again after "
                  << recovered_after << " failed attempts";
  }
}

void RedisPool::RecordFailure(const absl::Status& status, int64_t epoch,
                              bool always_log) {
  bool first = false;
  absl::Duration backoff;
  {
    absl::MutexLock lock(&mu_);
    // Commands started before the last recorded failure fail with it; they
    // are the same outage and do not lengthen the backoff.
    if (epoch != failures_seen_) return;
    first = consecutive_failures_ == 0;
    ++consecutive_failures_;
    ++failures_seen_;
    backoff = backoff_;
    retry_at_ = absl::Now() + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.backoff_max);
    probing_ = false;
  }
  if (first || always_log) {
    THB_LOG(Warning) << status.message() << "; commands refused for "
                     << absl::FormatDuration(backoff)
                     << ", then retried with exponential backoff";
  }
}

absl::Status RedisPool::Unavailable(std::string_view what) const {
  return absl::UnavailableError(
      absl::StrCat("redis ", options_.address, ": ", ToAbsl(what)));
}

}  // namespace thb
