#include "services/aggregator/response_cache.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fingerprint.h"
#include "common/redis_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"
#include "thb/stats/v1/stats_service.pb.h"

namespace thb::aggregator {
namespace {

using ::testing::MatchesRegex;

constexpr absl::Duration kBackoffMax = absl::Milliseconds(400);

// A computation that counts its runs and takes `delay`.
class Computation {
 public:
  explicit Computation(std::string value,
                       absl::Duration delay = absl::ZeroDuration())
      : value_(std::move(value)), delay_(delay) {}

  ResponseCache::Compute Fn() {
    return [this]() -> absl::StatusOr<std::string> {
      runs_.fetch_add(1);
      absl::SleepFor(delay_);
      return value_;
    };
  }
  int runs() const { return runs_.load(); }

 private:
  std::string value_;
  absl::Duration delay_;
  std::atomic<int> runs_{0};
};

class ResponseCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    RedisOptions options;
    options.address = server_->address();
    options.pool_size = 4;
    options.command_timeout = absl::Milliseconds(300);
    options.backoff_initial = absl::Milliseconds(100);
    options.backoff_max = kBackoffMax;
    auto pool = RedisPool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    cache_ =
        std::make_unique<ResponseCache>(pool_.get(), ResponseCacheOptions());
  }

  int64_t Pttl(const std::string& key) {
    int64_t pttl = 0;
    absl::StatusOr<std::string> reply = server_->Command({"PTTL", key});
    EXPECT_TRUE(reply.ok() && absl::SimpleAtoi(*reply, &pttl)) << key;
    return pttl;
  }

  // Runs GetOrCompute for `key` from `threads` threads at once.
  std::vector<absl::StatusOr<CacheResult>> Concurrently(
      int threads, const std::string& key,
      const ResponseCache::Compute& compute) {
    std::vector<absl::StatusOr<CacheResult>> results(
        threads, absl::UnknownError("not run"));
    absl::Notification go;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        go.WaitForNotification();
        results[t] = cache_->GetOrCompute(key, compute);
      });
    }
    go.Notify();
    for (std::thread& worker : workers) worker.join();
    return results;
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<ResponseCache> cache_;
};

TEST_F(ResponseCacheTest, MissesThenHits) {
  Computation computation("answer");
  auto first = cache_->GetOrCompute("thb:test:key", computation.Fn());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->value, "answer");
  EXPECT_EQ(first->outcome, CacheOutcome::kMiss);

  auto second = cache_->GetOrCompute("thb:test:key", computation.Fn());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->value, "answer");
  EXPECT_EQ(second->outcome, CacheOutcome::kHit);

  EXPECT_EQ(computation.runs(), 1);
  EXPECT_EQ(*server_->Command({"GET", "thb:test:key"}), "answer");
  const ResponseCacheCounters counters = cache_->counters();
  EXPECT_EQ(counters.hits, 1);
  EXPECT_EQ(counters.misses, 1);
  EXPECT_EQ(counters.bypasses, 0);
  EXPECT_EQ(counters.computations, 1);
}

TEST_F(ResponseCacheTest, CachesBinaryValues) {
  std::string value;
  for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
  Computation computation(value);
  ASSERT_EQ(cache_->GetOrCompute("binary", computation.Fn())->value, value);
  auto hit = cache_->GetOrCompute("binary", computation.Fn());
  ASSERT_TRUE(hit.ok()) << hit.status();
  EXPECT_EQ(hit->outcome, CacheOutcome::kHit);
  EXPECT_EQ(hit->value, value);
}

TEST_F(ResponseCacheTest, ConcurrentMissesOfOneKeyComputeOnce) {
  Computation computation("shared", absl::Milliseconds(100));
  const auto results = Concurrently(20, "one", computation.Fn());
  EXPECT_EQ(computation.runs(), 1);
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->value, "shared");
    // A thread that started late may find the stored value.
    EXPECT_NE(result->outcome, CacheOutcome::kBypass);
  }
  const ResponseCacheCounters counters = cache_->counters();
  EXPECT_EQ(counters.computations, 1);
  EXPECT_EQ(counters.hits + counters.misses, 20);
}

TEST_F(ResponseCacheTest, DifferentKeysComputeInParallel) {
  // Each computation waits for the other to start: run one after the
  // other, the first would give up.
  std::atomic<int> started{0};
  auto meet = [&started](const std::string& value) {
    return [&started, value]() -> absl::StatusOr<std::string> {
      started.fetch_add(1);
      const absl::Time give_up = absl::Now() + absl::Seconds(10);
      while (started.load() < 2) {
        if (absl::Now() > give_up) return absl::DeadlineExceededError("alone");
        absl::SleepFor(absl::Milliseconds(1));
      }
      return value;
    };
  };
  absl::StatusOr<CacheResult> a;
  std::thread other([&] { a = cache_->GetOrCompute("a", meet("a")); });
  absl::StatusOr<CacheResult> b = cache_->GetOrCompute("b", meet("b"));
  other.join();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->value, "a");
  EXPECT_EQ(b->value, "b");
}

TEST_F(ResponseCacheTest, AFailedComputationIsReturnedAndNotCached) {
  std::atomic<int> runs{0};
  auto failing = [&runs]() -> absl::StatusOr<std::string> {
    runs.fetch_add(1);
    return absl::NotFoundError("country \"XX\" not found");
  };
  for (int i = 1; i <= 2; ++i) {
    auto result = cache_->GetOrCompute("failing", failing);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(result.status().message(), "country \"XX\" not found");
    EXPECT_EQ(runs.load(), i);
  }
  EXPECT_EQ(*server_->Command({"EXISTS", "failing"}), "0");

  Computation computation("recovered");
  auto result = cache_->GetOrCompute("failing", computation.Fn());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, CacheOutcome::kMiss);
}

TEST_F(ResponseCacheTest, CallersSharingAFailedComputationGetItsError) {
  std::atomic<int> runs{0};
  auto failing = [&runs]() -> absl::StatusOr<std::string> {
    runs.fetch_add(1);
    absl::SleepFor(absl::Milliseconds(100));
    return absl::FailedPreconditionError("index not synced");
  };
  const auto results = Concurrently(10, "failing", failing);
  EXPECT_EQ(runs.load(), 1);
  for (const auto& result : results) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(result.status().message(), "index not synced");
  }
  EXPECT_EQ(*server_->Command({"EXISTS", "failing"}), "0");
}

TEST_F(ResponseCacheTest, FailsOpenWhileRedisIsDownAndCachesOnceItIsBack) {
  Computation computation("computed");
  server_->Kill();
  const absl::Time start = absl::Now();
  for (int i = 0; i < 10; ++i) {
    auto result = cache_->GetOrCompute("key", computation.Fn());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->value, "computed");
    EXPECT_EQ(result->outcome, CacheOutcome::kBypass);
  }
  // A failed attempt, then the pool does not even try for a while.
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_EQ(computation.runs(), 10);
  EXPECT_EQ(cache_->counters().bypasses, 10);
  const RedisCounters redis = pool_->counters();
  EXPECT_GE(redis.errors, 1);
  EXPECT_LE(redis.errors, 2);
  EXPECT_EQ(redis.errors + redis.bypasses, 10);

  ASSERT_TRUE(server_->Restart().ok());
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  CacheOutcome outcome = CacheOutcome::kBypass;
  while (outcome == CacheOutcome::kBypass && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
    auto result = cache_->GetOrCompute("key", computation.Fn());
    ASSERT_TRUE(result.ok()) << result.status();
    outcome = result->outcome;
  }
  EXPECT_EQ(outcome, CacheOutcome::kMiss);
  auto hit = cache_->GetOrCompute("key", computation.Fn());
  ASSERT_TRUE(hit.ok()) << hit.status();
  EXPECT_EQ(hit->outcome, CacheOutcome::kHit);
  EXPECT_EQ(hit->value, "computed");
}

TEST_F(ResponseCacheTest, FailingOpenStillComputesOncePerKey) {
  server_->Kill();
  Computation computation("computed", absl::Milliseconds(100));
  const auto results = Concurrently(20, "key", computation.Fn());
  EXPECT_EQ(computation.runs(), 1);
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->value, "computed");
    EXPECT_EQ(result->outcome, CacheOutcome::kBypass);
  }
}

TEST_F(ResponseCacheTest, TtlsAreJitteredWithinTwentyPercent) {
  ResponseCacheOptions options;
  options.ttl = absl::Seconds(100);
  options.jitter = 0.2;
  ResponseCache cache(pool_.get(), options);
  constexpr int kKeys = 200;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kKeys; ++i) {
    Computation computation("value");
    ASSERT_TRUE(
        cache.GetOrCompute(absl::StrCat("key", i), computation.Fn()).ok());
  }
  std::vector<int64_t> ttls;
  for (int i = 0; i < kKeys; ++i) ttls.push_back(Pttl(absl::StrCat("key", i)));
  const int64_t elapsed_ms = absl::ToInt64Milliseconds(absl::Now() - start);
  const auto [min, max] = std::minmax_element(ttls.begin(), ttls.end());
  EXPECT_GE(*min, 80'000 - elapsed_ms - 1);
  EXPECT_LE(*max, 120'000);
  // Spread over the range, not bunched: the chance that 200 uniform draws
  // all miss a tenth at either end is about 1e-25.
  EXPECT_LT(*min, 90'000);
  EXPECT_GT(*max, 110'000 - elapsed_ms);
}

TEST_F(ResponseCacheTest, WithoutJitterTheTtlIsTheBaseTtl) {
  ResponseCacheOptions options;
  options.ttl = absl::Seconds(100);
  options.jitter = 0;
  ResponseCache cache(pool_.get(), options);
  Computation computation("value");
  ASSERT_TRUE(cache.GetOrCompute("key", computation.Fn()).ok());
  const int64_t pttl = Pttl("key");
  EXPECT_LE(pttl, 100'000);
  EXPECT_GT(pttl, 99'000);
}

TEST_F(ResponseCacheTest, DisabledAlwaysComputes) {
  ResponseCacheOptions options;
  options.enabled = false;
  ResponseCache cache(pool_.get(), options);
  Computation computation("value");
  for (int i = 0; i < 3; ++i) {
    auto result = cache.GetOrCompute("key", computation.Fn());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->outcome, CacheOutcome::kBypass);
  }
  EXPECT_EQ(computation.runs(), 3);
  EXPECT_EQ(*server_->Command({"DBSIZE"}), "0");
  EXPECT_EQ(cache.counters().bypasses, 3);
  EXPECT_EQ(pool_->counters().misses, 0);
}

TEST(ResponseCacheWithoutRedisTest, NoPoolAlwaysComputes) {
  ResponseCache cache(nullptr, ResponseCacheOptions());
  Computation computation("value");
  auto result = cache.GetOrCompute("key", computation.Fn());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, CacheOutcome::kBypass);
  EXPECT_EQ(result->value, "value");
}

TEST(CacheKeyTest, NamesMethodRequestAndRevisions) {
  stats::v1::CountCountriesRequest request;
  request.set_as_of_date("2024-12-31");
  request.mutable_query()->mutable_filter()->add_tags("labour");

  const std::string key = CacheKey("CountCountries", request, 12, 34);
  EXPECT_THAT(key, MatchesRegex("thb:v1:CountCountries:[0-9a-f]{16}:12:34"));
  EXPECT_EQ(
      key, absl::StrCat("thb:v1:CountCountries:",
                        FingerprintHex(MessageFingerprint(request)), ":12:34"));

  stats::v1::CountCountriesRequest same;
  same.CopyFrom(request);
  EXPECT_EQ(CacheKey("CountCountries", same, 12, 34), key);

  stats::v1::CountCountriesRequest other = request;
  other.set_as_of_date("2025-01-01");
  EXPECT_NE(CacheKey("CountCountries", other, 12, 34), key);
  EXPECT_NE(CacheKey("CountCountries", request, 13, 34), key);
  EXPECT_NE(CacheKey("CountCountries", request, 12, 35), key);
  EXPECT_NE(CacheKey("Breakdown", request, 12, 34), key);
}

TEST(CacheOutcomeTest, HasNames) {
  EXPECT_EQ(CacheOutcomeName(CacheOutcome::kHit), "hit");
  EXPECT_EQ(CacheOutcomeName(CacheOutcome::kMiss), "miss");
  EXPECT_EQ(CacheOutcomeName(CacheOutcome::kBypass), "bypass");
}

}  // namespace
}  // namespace thb::aggregator
