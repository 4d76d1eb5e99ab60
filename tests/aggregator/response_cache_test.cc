#include "services/aggregator/response_cache.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
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

// Incarnations of the two stores the cached answers were computed from.
constexpr char kRegistryLife[] = "0123456789abcdef0123456789abcdef";
constexpr char kCooperationLife[] = "fedcba9876543210fedcba9876543210";

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr absl::Duration kBackoffMax = absl::Milliseconds(400);
constexpr char kPassword[] = "cache-test-password-58c1";
constexpr char kAclUser[] = "thb-aggregator";
constexpr char kAclPassword[] = "cache-test-acl-password-e07b";

CacheMac MacOf(std::string key) {
  absl::StatusOr<CacheMac> mac = CacheMac::FromKey(std::move(key));
  EXPECT_TRUE(mac.ok()) << mac.status();
  return *std::move(mac);
}

// The shared key of the aggregators under test, and another one.
CacheMac TheMac() { return MacOf("0123456789abcdef0123456789abcdef"); }
CacheMac OtherMac() { return MacOf("fedcba9876543210fedcba9876543210"); }

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
    testing::RedisServerOptions server_options;
    server_options.password = kPassword;
    server_options.acl_user = kAclUser;
    server_options.acl_password = kAclPassword;
    auto server = testing::RedisServer::Start(server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    pool_ = MakePool("", kPassword);
    ASSERT_NE(pool_, nullptr);
    cache_ = std::make_unique<ResponseCache>(pool_.get(), &mac_,
                                             ResponseCacheOptions());
  }

  std::unique_ptr<RedisPool> MakePool(const std::string& user,
                                      const std::string& password) {
    RedisOptions options;
    options.address = server_->address();
    options.user = user;
    options.password = password;
    options.pool_size = 4;
    options.command_timeout = absl::Milliseconds(300);
    options.backoff_initial = absl::Milliseconds(100);
    options.backoff_max = kBackoffMax;
    auto pool = RedisPool::Create(options);
    EXPECT_TRUE(pool.ok()) << pool.status();
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  // What Redis holds under `key`, opened with the aggregators' key.
  absl::StatusOr<std::string> Stored(const std::string& key) {
    absl::StatusOr<std::string> sealed = server_->Command({"GET", key});
    if (!sealed.ok()) return sealed.status();
    return mac_.Open(key, *sealed);
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

  const CacheMac mac_ = TheMac();
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
  const std::string sealed = *server_->Command({"GET", "thb:test:key"});
  EXPECT_EQ(sealed.size(), CacheMac::kHeaderBytes + 6);
  EXPECT_EQ(sealed.substr(CacheMac::kHeaderBytes), "answer");
  EXPECT_EQ(*Stored("thb:test:key"), "answer");
  const ResponseCacheCounters counters = cache_->counters();
  EXPECT_EQ(counters.hits, 1);
  EXPECT_EQ(counters.misses, 1);
  EXPECT_EQ(counters.bypasses, 0);
  EXPECT_EQ(counters.computations, 1);
  EXPECT_EQ(counters.rejected, 0);
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
  ResponseCache cache(pool_.get(), &mac_, options);
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
  ResponseCache cache(pool_.get(), &mac_, options);
  Computation computation("value");
  ASSERT_TRUE(cache.GetOrCompute("key", computation.Fn()).ok());
  const int64_t pttl = Pttl("key");
  EXPECT_LE(pttl, 100'000);
  EXPECT_GT(pttl, 99'000);
}

TEST_F(ResponseCacheTest, DisabledAlwaysComputes) {
  ResponseCacheOptions options;
  options.enabled = false;
  ResponseCache cache(pool_.get(), &mac_, options);
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

TEST_F(ResponseCacheTest, WithoutAMacRedisIsNeverUsed) {
  ResponseCache cache(pool_.get(), nullptr, ResponseCacheOptions());
  Computation computation("value");
  for (int i = 0; i < 2; ++i) {
    auto result = cache.GetOrCompute("key", computation.Fn());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->outcome, CacheOutcome::kBypass);
  }
  EXPECT_EQ(*server_->Command({"DBSIZE"}), "0");
  EXPECT_EQ(pool_->counters().misses, 0);
}

TEST(ResponseCacheWithoutRedisTest, NoPoolAlwaysComputes) {
  ResponseCache cache(nullptr, nullptr, ResponseCacheOptions());
  Computation computation("value");
  auto result = cache.GetOrCompute("key", computation.Fn());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, CacheOutcome::kBypass);
  EXPECT_EQ(result->value, "value");
}

TEST_F(ResponseCacheTest, WithoutThePasswordRedisRefusesAndTheCacheFailsOpen) {
  std::unique_ptr<RedisPool> no_password = MakePool("", "");
  ResponseCache cache(no_password.get(), &mac_, ResponseCacheOptions());
  Computation computation("computed");
  for (int i = 0; i < 3; ++i) {
    auto result = cache.GetOrCompute("key", computation.Fn());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->value, "computed");
    EXPECT_EQ(result->outcome, CacheOutcome::kBypass);
  }
  EXPECT_EQ(computation.runs(), 3);
  EXPECT_EQ(no_password->counters().errors, 1);
  EXPECT_THAT(no_password->Ping().message(), Not(HasSubstr("PONG")));
  EXPECT_EQ(*server_->Command({"DBSIZE"}), "0");
}

TEST_F(ResponseCacheTest, CachesAsAnAclUser) {
  std::unique_ptr<RedisPool> acl = MakePool(kAclUser, kAclPassword);
  ResponseCache cache(acl.get(), &mac_, ResponseCacheOptions());
  Computation computation("answer");
  EXPECT_EQ(cache.GetOrCompute("key", computation.Fn())->outcome,
            CacheOutcome::kMiss);
  ResponseCache other_replica(acl.get(), &mac_, ResponseCacheOptions());
  EXPECT_EQ(other_replica.GetOrCompute("key", computation.Fn())->outcome,
            CacheOutcome::kHit);
  EXPECT_EQ(computation.runs(), 1);
  EXPECT_EQ(*Stored("key"), "answer");
}

// A key as the service computes it, so that a planted value sits exactly
// where a real answer would be looked up.
std::string RealKey() {
  stats::v1::CountCountriesRequest request;
  request.set_as_of_date("2025-07-16");
  request.mutable_query()->mutable_filter()->add_tags("labour");
  return CacheKey("CountCountries", request,
                  IndexVersion{kRegistryLife, 3, kCooperationLife, 7});
}

TEST_F(ResponseCacheTest, APlantedValueIsNeverServedAndIsOverwritten) {
  const std::string key = RealKey();
  auto sealed_by_other = OtherMac().Seal(key, "planted");
  ASSERT_TRUE(sealed_by_other.ok());
  std::string truncated = *mac_.Seal(key, "planted");
  truncated.pop_back();
  std::string flipped = *mac_.Seal(key, "planted");
  flipped[5] ^= 1;
  const std::vector<std::pair<std::string, std::string>> plants = {
      {"no MAC", "planted"},
      {"empty", ""},
      {"a header of zeros", std::string(CacheMac::kHeaderBytes, '\0') + "x"},
      {"another key's MAC", *sealed_by_other},
      {"truncated", truncated},
      {"a flipped tag bit", flipped},
      {"version 2", "\x02" + mac_.Seal(key, "planted")->substr(1)},
  };
  int64_t rejected = 0;
  for (const auto& [what, plant] : plants) {
    SCOPED_TRACE(what);
    // A fresh cache each time: nothing in this process's tier.
    ResponseCache cache(pool_.get(), &mac_, ResponseCacheOptions());
    ASSERT_EQ(*server_->Command({"SET", key, plant}), "OK");
    Computation computation("computed");
    auto result = cache.GetOrCompute(key, computation.Fn());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->value, "computed");
    EXPECT_EQ(result->outcome, CacheOutcome::kMiss);
    EXPECT_EQ(computation.runs(), 1);
    EXPECT_EQ(cache.counters().rejected, 1);
    EXPECT_EQ(cache.counters().misses, 1);
    rejected += cache.counters().rejected;

    // Overwritten by the computed answer, sealed: the next reader hits.
    EXPECT_EQ(*Stored(key), "computed");
    ResponseCache next(pool_.get(), &mac_, ResponseCacheOptions());
    auto hit = next.GetOrCompute(key, computation.Fn());
    ASSERT_TRUE(hit.ok()) << hit.status();
    EXPECT_EQ(hit->outcome, CacheOutcome::kHit);
    EXPECT_EQ(hit->value, "computed");
    EXPECT_EQ(next.counters().rejected, 0);
  }
  EXPECT_EQ(rejected, static_cast<int64_t>(plants.size()));
}

TEST_F(ResponseCacheTest, AValidValueMovedToAnotherKeyIsRefused) {
  const std::string key = RealKey();
  Computation answer("the answer for key");
  ASSERT_EQ(cache_->GetOrCompute(key, answer.Fn())->outcome,
            CacheOutcome::kMiss);
  const std::string sealed = *server_->Command({"GET", key});

  stats::v1::CountCountriesRequest request;
  request.set_as_of_date("2025-07-16");
  const std::string other_key =
      CacheKey("CountCountries", request,
               IndexVersion{kRegistryLife, 3, kCooperationLife, 7});
  ASSERT_EQ(*server_->Command({"SET", other_key, sealed}), "OK");
  ::testing::internal::CaptureStderr();
  Computation other("the answer for other_key");
  auto result = cache_->GetOrCompute(other_key, other.Fn());
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->value, "the answer for other_key");
  EXPECT_EQ(result->outcome, CacheOutcome::kMiss);
  EXPECT_EQ(cache_->counters().rejected, 1);
  EXPECT_EQ(*Stored(other_key), "the answer for other_key");
  // The refusal names the key and never shows the value.
  EXPECT_THAT(log, HasSubstr(other_key));
  EXPECT_THAT(log, HasSubstr("MAC does not match"));
  EXPECT_THAT(log, Not(HasSubstr("the answer for key")));
}

TEST_F(ResponseCacheTest, RefusalsAreLoggedAtMostOncePerInterval) {
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 5; ++i) {
    const std::string key = absl::StrCat("planted", i);
    ASSERT_EQ(*server_->Command({"SET", key, "no mac"}), "OK");
    Computation computation("computed");
    ASSERT_TRUE(cache_->GetOrCompute(key, computation.Fn()).ok());
  }
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(cache_->counters().rejected, 5);
  EXPECT_THAT(log, HasSubstr("\"planted0\""));
  EXPECT_THAT(log, Not(HasSubstr("planted1")));
}

TEST(CacheKeyTest, NamesMethodRequestAndRevisions) {
  stats::v1::CountCountriesRequest request;
  request.set_as_of_date("2024-12-31");
  request.mutable_query()->mutable_filter()->add_tags("labour");

  const std::string key =
      CacheKey("CountCountries", request,
               IndexVersion{kRegistryLife, 12, kCooperationLife, 34});
  EXPECT_THAT(key, MatchesRegex("thb:v2:CountCountries:[0-9a-f]{64}:[0-9a-f]{"
                                "32}\\.12:[0-9a-f]{32}\\.34"));
  EXPECT_EQ(key,
            absl::StrCat("thb:v2:CountCountries:", MessageDigestHex(request),
                         ":", kRegistryLife, ".12:", kCooperationLife, ".34"));

  stats::v1::CountCountriesRequest same;
  same.CopyFrom(request);
  EXPECT_EQ(CacheKey("CountCountries", same,
                     IndexVersion{kRegistryLife, 12, kCooperationLife, 34}),
            key);

  stats::v1::CountCountriesRequest other = request;
  other.set_as_of_date("2025-01-01");
  EXPECT_NE(CacheKey("CountCountries", other,
                     IndexVersion{kRegistryLife, 12, kCooperationLife, 34}),
            key);
  EXPECT_NE(CacheKey("CountCountries", request,
                     IndexVersion{kRegistryLife, 13, kCooperationLife, 34}),
            key);
  EXPECT_NE(CacheKey("CountCountries", request,
                     IndexVersion{kRegistryLife, 12, kCooperationLife, 35}),
            key);
  EXPECT_NE(CacheKey("Breakdown", request,
                     IndexVersion{kRegistryLife, 12, kCooperationLife, 34}),
            key);
  // A store restored from an older copy reuses its revisions for other data.
  EXPECT_NE(CacheKey("CountCountries", request,
                     IndexVersion{kCooperationLife, 12, kCooperationLife, 34}),
            key);
  EXPECT_NE(CacheKey("CountCountries", request,
                     IndexVersion{kRegistryLife, 12, kRegistryLife, 34}),
            key);
}

// A write lands between the moment the key is made (at revision 7) and the
// moment the answer is computed (at 8): the answer belongs to 8, and a
// caller looking up 7 must never be served it.
TEST_F(ResponseCacheTest, AnAnswerIsStoredUnderTheVersionItWasComputedAt) {
  stats::v1::CountCountriesRequest request;
  request.mutable_query()->mutable_filter()->add_tags("labour");
  const IndexVersion expected{kRegistryLife, 3, kCooperationLife, 7};
  const IndexVersion computed_at{kRegistryLife, 3, kCooperationLife, 8};
  const std::string expected_key =
      CacheKey("CountCountries", request, expected);
  const std::string computed_key =
      CacheKey("CountCountries", request, computed_at);
  int runs = 0;
  auto result = cache_->GetOrComputeKeyed(
      expected_key, [&]() -> absl::StatusOr<KeyedValue> {
        ++runs;
        return KeyedValue{"answer at 8", computed_key};
      });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->value, "answer at 8");
  EXPECT_EQ(result->outcome, CacheOutcome::kMiss);
  EXPECT_FALSE(Stored(expected_key).ok());
  EXPECT_EQ(*Stored(computed_key), "answer at 8");

  // Neither tier serves it at 7; at 8 it is a hit.
  Computation at_seven("answer at 7");
  auto seven = cache_->GetOrCompute(expected_key, at_seven.Fn());
  ASSERT_TRUE(seven.ok()) << seven.status();
  EXPECT_EQ(seven->value, "answer at 7");
  EXPECT_EQ(at_seven.runs(), 1);
  Computation at_eight("not computed");
  auto eight = cache_->GetOrCompute(computed_key, at_eight.Fn());
  ASSERT_TRUE(eight.ok()) << eight.status();
  EXPECT_EQ(eight->value, "answer at 8");
  EXPECT_EQ(eight->outcome, CacheOutcome::kHit);
  EXPECT_EQ(runs, 1);
}

TEST(CacheOutcomeTest, HasNames) {
  EXPECT_EQ(CacheOutcomeName(CacheOutcome::kHit), "hit");
  EXPECT_EQ(CacheOutcomeName(CacheOutcome::kMiss), "miss");
  EXPECT_EQ(CacheOutcomeName(CacheOutcome::kBypass), "bypass");
}

}  // namespace
}  // namespace thb::aggregator
