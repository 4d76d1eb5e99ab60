#include "common/redis_client.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

constexpr absl::Duration kCommandTimeout = absl::Milliseconds(300);
constexpr absl::Duration kBackoffInitial = absl::Milliseconds(100);
constexpr absl::Duration kBackoffMax = absl::Milliseconds(400);

// Every byte value, CR LF and NUL included.
std::string AllBytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  return absl::StrCat("\r\n", bytes, std::string(3, '\0'), "\r\n");
}

class RedisPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    pool_ = MakePool(Options(server_->address()));
  }

  static RedisOptions Options(const std::string& address) {
    RedisOptions options;
    options.address = address;
    options.pool_size = 4;
    options.connect_timeout = kCommandTimeout;
    options.command_timeout = kCommandTimeout;
    options.backoff_initial = kBackoffInitial;
    options.backoff_max = kBackoffMax;
    return options;
  }

  static std::unique_ptr<RedisPool> MakePool(const RedisOptions& options) {
    auto pool = RedisPool::Create(options);
    EXPECT_TRUE(pool.ok()) << pool.status();
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  // Waits until the pool answers PING again; false after `timeout`.
  bool AwaitPing(absl::Duration timeout) {
    const absl::Time give_up = absl::Now() + timeout;
    while (absl::Now() < give_up) {
      if (pool_->Ping().ok()) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<RedisPool> pool_;
};

TEST(RedisPoolOptionsTest, RefusesMalformedOptions) {
  for (const char* address :
       {"", "localhost", "localhost:", ":6379", "localhost:0",
        "localhost:65536", "localhost:port", "unix:"}) {
    RedisOptions options;
    options.address = address;
    auto pool = RedisPool::Create(options);
    EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument)
        << address;
  }
  RedisOptions options;
  options.address = "localhost:6379";
  options.pool_size = 0;
  EXPECT_THAT(RedisPool::Create(options).status().message(),
              HasSubstr("pool_size"));
  options.pool_size = 1;
  options.command_timeout = absl::ZeroDuration();
  EXPECT_THAT(RedisPool::Create(options).status().message(),
              HasSubstr("command_timeout"));
  options.command_timeout = absl::Seconds(1);
  options.backoff_max = options.backoff_initial / 2;
  EXPECT_THAT(RedisPool::Create(options).status().message(),
              HasSubstr("backoff_max"));
}

TEST(RedisPoolOptionsTest, RefusesAUserWithoutAPassword) {
  RedisOptions options;
  options.address = "localhost:6379";
  options.user = "thb-aggregator";
  absl::Status status = RedisPool::Create(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("user"));
  options.password = "secret";
  EXPECT_TRUE(RedisPool::Create(options).ok());
}

TEST(RedisPoolOptionsTest, AcceptsHostPortForms) {
  for (const char* address :
       {"localhost:6379", "127.0.0.1:1", "[::1]:6379", "unix:/run/r.sock"}) {
    RedisOptions options;
    options.address = address;
    EXPECT_TRUE(RedisPool::Create(options).ok()) << address;
  }
}

TEST_F(RedisPoolTest, PingAnswers) { EXPECT_TRUE(pool_->Ping().ok()); }

TEST_F(RedisPoolTest, GetOfAnAbsentKeyIsAMiss) {
  auto value = pool_->Get("absent");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, std::nullopt);
  EXPECT_EQ(pool_->counters().misses, 1);
  EXPECT_EQ(pool_->counters().hits, 0);
}

TEST_F(RedisPoolTest, SetThenGetRoundTripsBinaryKeysAndValues) {
  const std::string key = absl::StrCat("key", AllBytes());
  const std::string value = absl::StrCat(AllBytes(), AllBytes());
  ASSERT_TRUE(pool_->Set(key, value, absl::Minutes(1)).ok());
  EXPECT_THAT(*pool_->Get(key), Optional(value));
  EXPECT_EQ(pool_->counters().hits, 1);
  // What Redis holds is the bytes themselves.
  EXPECT_EQ(*server_->Command({"GET", key}), value);
  ASSERT_TRUE(pool_->Set(key, "", absl::Minutes(1)).ok());
  EXPECT_THAT(*pool_->Get(key), Optional(std::string()));
}

TEST_F(RedisPoolTest, SetExpiresAfterItsTtl) {
  ASSERT_TRUE(pool_->Set("short", "lived", absl::Milliseconds(150)).ok());
  int64_t pttl = 0;
  ASSERT_TRUE(absl::SimpleAtoi(*server_->Command({"PTTL", "short"}), &pttl));
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 150);
  EXPECT_THAT(*pool_->Get("short"), Optional(std::string("lived")));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(*pool_->Get("short"), std::nullopt);
}

TEST_F(RedisPoolTest, SetRefusesATtlUnderAMillisecond) {
  const absl::Status status =
      pool_->Set("key", "value", absl::Microseconds(999));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool_->counters().errors, 0);
  EXPECT_TRUE(pool_->Ping().ok());
}

TEST_F(RedisPoolTest, DelSaysWhetherTheKeyExisted) {
  ASSERT_TRUE(pool_->Set("key", "value", absl::Minutes(1)).ok());
  absl::StatusOr<bool> existed = pool_->Del("key");
  ASSERT_TRUE(existed.ok()) << existed.status();
  EXPECT_TRUE(*existed);
  EXPECT_EQ(*pool_->Get("key"), std::nullopt);
  existed = pool_->Del("key");
  ASSERT_TRUE(existed.ok()) << existed.status();
  EXPECT_FALSE(*existed);
}

TEST_F(RedisPoolTest, AnErrorReplyIsUnavailableAndBacksOff) {
  ASSERT_TRUE(server_->Command({"RPUSH", "list", "item"}).ok());
  const absl::Status status = pool_->Get("list").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("WRONGTYPE"));
  EXPECT_EQ(pool_->counters().errors, 1);
  EXPECT_EQ(pool_->Ping().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pool_->counters().bypasses, 1);
  EXPECT_TRUE(AwaitPing(absl::Seconds(2)));
}

TEST_F(RedisPoolTest, KilledRedisIsRefusedAtOnceDuringTheBackoff) {
  // A backoff long enough that a loaded machine does not see it end.
  RedisOptions options = Options(server_->address());
  options.backoff_initial = absl::Seconds(30);
  options.backoff_max = absl::Seconds(60);
  pool_ = MakePool(options);
  ASSERT_TRUE(pool_->Set("key", "value", absl::Minutes(1)).ok());
  server_->Kill();

  // The first command finds the connection dead.
  absl::Time start = absl::Now();
  EXPECT_EQ(pool_->Get("key").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, kCommandTimeout);
  EXPECT_EQ(pool_->counters().errors, 1);

  // The next ones do not even try.
  constexpr int kCalls = 1000;
  start = absl::Now();
  for (int i = 0; i < kCalls; ++i) {
    const absl::Status status = pool_->Get("key").status();
    ASSERT_EQ(status.code(), absl::StatusCode::kUnavailable);
    ASSERT_THAT(status.message(), HasSubstr("not tried"));
  }
  EXPECT_LT(absl::Now() - start, kCommandTimeout);
  const RedisCounters counters = pool_->counters();
  EXPECT_EQ(counters.errors, 1);
  EXPECT_EQ(counters.bypasses, kCalls);
  EXPECT_EQ(counters.hits, 0);
}

TEST_F(RedisPoolTest, BackoffGrowsWhileRedisStaysDown) {
  server_->Kill();
  const absl::Time until = absl::Now() + absl::Milliseconds(1500);
  int calls = 0;
  while (absl::Now() < until) {
    EXPECT_EQ(pool_->Ping().code(), absl::StatusCode::kUnavailable);
    ++calls;
    absl::SleepFor(absl::Milliseconds(2));
  }
  // Tried at about 0, 100, 300, 700, 1100 and 1500 ms; every other call
  // was refused untried.
  const RedisCounters counters = pool_->counters();
  EXPECT_GE(counters.errors, 3);
  EXPECT_LE(counters.errors, 7);
  EXPECT_EQ(counters.errors + counters.bypasses, calls);
}

TEST_F(RedisPoolTest, WorksAgainOnceRedisIsBack) {
  // Open several connections, which the restart leaves dead.
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < 20; ++i) EXPECT_TRUE(pool_->Ping().ok());
    });
  }
  for (std::thread& thread : threads) thread.join();

  server_->Kill();
  EXPECT_EQ(pool_->Ping().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(server_->Restart().ok());

  // Back within the longest backoff.
  const absl::Time start = absl::Now();
  ASSERT_TRUE(AwaitPing(absl::Seconds(5)));
  EXPECT_LT(absl::Now() - start, kBackoffMax + absl::Milliseconds(500));

  // The connections opened before the failure are not reused: no command
  // fails on one.
  const int64_t errors = pool_->counters().errors;
  for (int i = 0; i < 50; ++i) {
    const std::string key = absl::StrCat("key", i);
    ASSERT_TRUE(pool_->Set(key, "value", absl::Minutes(1)).ok()) << i;
    ASSERT_THAT(*pool_->Get(key), Optional(std::string("value")));
  }
  EXPECT_EQ(pool_->counters().errors, errors);
}

TEST_F(RedisPoolTest, UnansweringRedisTimesOut) {
  // A backoff a loaded machine does not see end between two calls.
  RedisOptions options = Options(server_->address());
  options.backoff_initial = absl::Seconds(1);
  options.backoff_max = absl::Seconds(1);
  pool_ = MakePool(options);
  ASSERT_TRUE(pool_->Ping().ok());
  server_->Pause();
  absl::Time start = absl::Now();
  const absl::Status status = pool_->Get("key").status();
  const absl::Duration first = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("no answer within 300ms"));
  EXPECT_GE(first, kCommandTimeout - absl::Milliseconds(10));
  EXPECT_LT(first, kCommandTimeout + absl::Milliseconds(500));

  start = absl::Now();
  EXPECT_EQ(pool_->Get("key").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, kCommandTimeout / 3);
  EXPECT_EQ(pool_->counters().bypasses, 1);

  server_->Resume();
  EXPECT_TRUE(AwaitPing(absl::Seconds(5)));
}

TEST_F(RedisPoolTest, ServesSixteenThreadsWithFourConnections) {
  // On a loaded machine a thread may wait long for one of the four.
  RedisOptions options = Options(server_->address());
  options.checkout_timeout = absl::Seconds(30);
  options.command_timeout = absl::Seconds(30);
  pool_ = MakePool(options);
  constexpr int kThreads = 16;
  constexpr int kRounds = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &failures] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string key = absl::StrCat("thread", t, ":", i % 10);
        const std::string value = absl::StrCat(t, "/", i, AllBytes());
        if (!pool_->Set(key, value, absl::Minutes(1)).ok()) ++failures;
        absl::StatusOr<std::optional<std::string>> read = pool_->Get(key);
        if (!read.ok() || *read != value) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  const RedisCounters counters = pool_->counters();
  EXPECT_EQ(counters.hits, kThreads * kRounds);
  EXPECT_EQ(counters.errors, 0);
  EXPECT_EQ(counters.bypasses, 0);
  // Never more connections than the pool size (plus the one asking).
  absl::StatusOr<std::string> clients = server_->Command({"CLIENT", "LIST"});
  ASSERT_TRUE(clients.ok()) << clients.status();
  EXPECT_LE(std::count(clients->begin(), clients->end(), '\n'), 4 + 1);
}

TEST_F(RedisPoolTest, SurvivesRedisDyingUnderLoad) {
  // Connections die mid-command; a write to one must fail, not raise
  // SIGPIPE and end the process.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> successes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([this, t, &stop, &successes] {
      // Large enough that a command takes several writes.
      const std::string value(size_t{1} << 20, static_cast<char>('a' + t));
      for (int i = 0; !stop.load(); ++i) {
        const std::string key = absl::StrCat("thread", t, ":", i % 2);
        if (pool_->Set(key, value, absl::Minutes(1)).ok()) ++successes;
        absl::StatusOr<std::optional<std::string>> read = pool_->Get(key);
        if (read.ok() && read->has_value()) {
          EXPECT_EQ(**read, value);
        }
      }
    });
  }
  for (int round = 0; round < 3; ++round) {
    absl::SleepFor(absl::Milliseconds(100));
    server_->Kill();
    absl::SleepFor(absl::Milliseconds(100));
    ASSERT_TRUE(server_->Restart().ok());
  }
  absl::SleepFor(absl::Milliseconds(200));
  stop.store(true);
  for (std::thread& thread : threads) thread.join();
  EXPECT_GT(successes.load(), 0);
  EXPECT_GT(pool_->counters().errors, 0);
  EXPECT_TRUE(AwaitPing(absl::Seconds(5)));
}

TEST_F(RedisPoolTest, ConnectsOverAUnixSocket) {
  if (server_->unix_address().empty()) {
    GTEST_SKIP() << "the temporary directory path is too long for a socket";
  }
  std::unique_ptr<RedisPool> pool = MakePool(Options(server_->unix_address()));
  ASSERT_NE(pool, nullptr);
  EXPECT_TRUE(pool->Ping().ok());
  ASSERT_TRUE(pool->Set("key", "value", absl::Minutes(1)).ok());
  EXPECT_THAT(*pool->Get("key"), Optional(std::string("value")));
}

std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path =
      absl::StrCat(testing::MakeTempDir("secret"), "/", name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(ReadRedisPasswordFileTest, DropsOneTrailingNewline) {
  EXPECT_EQ(*ReadRedisPasswordFile(WriteFile("a", "s3cret")), "s3cret");
  EXPECT_EQ(*ReadRedisPasswordFile(WriteFile("b", "s3cret\n")), "s3cret");
  EXPECT_EQ(*ReadRedisPasswordFile(WriteFile("c", "s3cret\r\n")), "s3cret");
  EXPECT_EQ(*ReadRedisPasswordFile(WriteFile("d", "s3cret\n\n")), "s3cret\n");
  EXPECT_EQ(*ReadRedisPasswordFile(WriteFile("e", " s3 cret ")), " s3 cret ");
}

TEST(ReadRedisPasswordFileTest, RefusesAnEmptyOrMissingFileNamingIt) {
  for (const std::string& content : {std::string(), std::string("\n")}) {
    const std::string path = WriteFile("empty", content);
    const absl::Status status = ReadRedisPasswordFile(path).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr(path));
    EXPECT_THAT(status.message(), HasSubstr("holds no password"));
  }
  const std::string missing = testing::MakeTempDir("secret") + "/missing";
  const absl::Status status = ReadRedisPasswordFile(missing).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(missing));
  EXPECT_THAT(status.message(), HasSubstr("cannot open"));
}

constexpr char kPassword[] = "default-user-password-4f1c";
constexpr char kAclUser[] = "thb-aggregator";
constexpr char kAclPassword[] = "acl-user-password-9b2e";

// A Redis that requires a password, with an ACL user besides.
class RedisAuthTest : public RedisPoolTest {
 protected:
  void SetUp() override {
    testing::RedisServerOptions options;
    options.password = kPassword;
    options.acl_user = kAclUser;
    options.acl_password = kAclPassword;
    auto server = testing::RedisServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  static RedisOptions WithAuth(RedisOptions options, std::string user,
                               std::string password) {
    options.user = std::move(user);
    options.password = std::move(password);
    return options;
  }
};

TEST_F(RedisAuthTest, WithoutThePasswordCommandsAreRefusedNoauth) {
  pool_ = MakePool(Options(server_->address()));
  const absl::Status ping = pool_->Ping();
  EXPECT_EQ(ping.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(ping.message(), HasSubstr("NOAUTH"));
  EXPECT_EQ(pool_->counters().errors, 1);
}

TEST_F(RedisAuthTest, WithThePasswordCommandsRun) {
  pool_ = MakePool(WithAuth(Options(server_->address()), "", kPassword));
  ASSERT_TRUE(pool_->Set("key", "value", absl::Minutes(1)).ok());
  EXPECT_THAT(*pool_->Get("key"), Optional(std::string("value")));
  EXPECT_EQ(*server_->Command({"GET", "key"}), "value");
}

TEST_F(RedisAuthTest, AnAclUserAuthenticatesAsItself) {
  pool_ =
      MakePool(WithAuth(Options(server_->address()), kAclUser, kAclPassword));
  ASSERT_TRUE(pool_->Set("key", "value", absl::Minutes(1)).ok());
  EXPECT_THAT(*pool_->Get("key"), Optional(std::string("value")));
  // The pool's idle connection is the ACL user's.
  EXPECT_THAT(*server_->Command({"CLIENT", "LIST"}),
              HasSubstr(absl::StrCat("user=", kAclUser)));

  // The ACL user's name with the default user's password is no login.
  std::unique_ptr<RedisPool> mixed =
      MakePool(WithAuth(Options(server_->address()), kAclUser, kPassword));
  EXPECT_EQ(mixed->Ping().code(), absl::StatusCode::kUnavailable);
}

TEST_F(RedisAuthTest, ARefusedAuthIsLoggedAtEachReconnectWithoutThePassword) {
  constexpr char kWrong[] = "wrong-password-7d3a";
  pool_ = MakePool(WithAuth(Options(server_->address()), "", kWrong));
  ::testing::internal::CaptureStderr();
  const absl::Status first = pool_->Ping();
  // Refused at once during the backoff: not tried, not logged.
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(pool_->Ping().ok());
  absl::SleepFor(kBackoffInitial + absl::Milliseconds(50));
  const absl::Status second = pool_->Ping();
  const std::string log = ::testing::internal::GetCapturedStderr();

  for (const absl::Status& status : {first, second}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(status.message(),
                HasSubstr("AUTH as user \"default\" refused: WRONGPASS"));
    EXPECT_THAT(status.message(), Not(HasSubstr(kWrong)));
  }
  EXPECT_THAT(log, Not(HasSubstr(kWrong)));
  const std::vector<absl::string_view> pieces =
      absl::StrSplit(log, "AUTH as user");
  EXPECT_EQ(pieces.size(), 3u) << "two refusals logged, not " << log;
  EXPECT_EQ(pool_->counters().errors, 2);
  EXPECT_EQ(pool_->counters().bypasses, 5);
}

TEST_F(RedisAuthTest, AuthenticatesAgainAfterRedisRestarts) {
  pool_ = MakePool(WithAuth(Options(server_->address()), "", kPassword));
  ASSERT_TRUE(pool_->Ping().ok());
  server_->Kill();
  EXPECT_FALSE(pool_->Ping().ok());
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(AwaitPing(absl::Seconds(5)));
  ASSERT_TRUE(pool_->Set("key", "value", absl::Minutes(1)).ok());
  EXPECT_EQ(*server_->Command({"GET", "key"}), "value");
}

}  // namespace
}  // namespace thb
