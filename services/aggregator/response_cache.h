#ifndef THB_SERVICES_AGGREGATOR_RESPONSE_CACHE_H_
#define THB_SERVICES_AGGREGATOR_RESPONSE_CACHE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis_client.h"
#include "google/protobuf/message.h"
#include "services/aggregator/cache_mac.h"

namespace thb::aggregator {

// Where an answer came from.
enum class CacheOutcome {
  // Read from Redis, its MAC verified.
  kHit,
  // Computed (by this caller or by a concurrent one with the same key), then
  // stored in Redis. A value in Redis that fails its MAC is a miss too.
  kMiss,
  // Computed without the cache: Redis failed or is backing off, or the
  // cache is disabled.
  kBypass,
};

std::string_view CacheOutcomeName(CacheOutcome outcome);

struct CacheResult {
  std::string value;
  CacheOutcome outcome = CacheOutcome::kBypass;
};

struct ResponseCacheOptions {
  bool enabled = true;
  // Answers also kept in this process (a first tier in front of Redis),
  // so that a hot answer costs no network round trip; 0 keeps none. Keys
  // carry the revisions, so a local copy is never stale either.
  int local_entries = 4096;
  absl::Duration ttl = absl::Minutes(5);
  // Each stored entry lives `ttl` times a uniform factor in
  // [1 - jitter, 1 + jitter], so entries written together do not expire
  // together.
  double jitter = 0.2;
};

struct ResponseCacheCounters {
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t bypasses = 0;
  // Computations run; callers served by another's computation are `shared`.
  int64_t computations = 0;
  int64_t shared = 0;
  // Values found in Redis and refused for a MAC that failed (planted,
  // moved from another key, truncated, sealed with another key); each is
  // also a miss.
  int64_t rejected = 0;
};

// The state of the data an answer is computed at. It is read under the same
// lock as the computation reads the index, so that an answer is keyed by
// exactly what it saw.
struct IndexVersion {
  std::string registry_incarnation;
  int64_t registry_revision = 0;
  std::string cooperation_incarnation;
  int64_t cooperation_revision = 0;
};

// "thb:v2:<method>:<SHA-256 of the request's deterministic serialization,
// 64 hex digits>:<registry_incarnation>.<registry_revision>:
// <cooperation_incarnation>.<cooperation_revision>". A reader chooses the
// request (tags are free text), so the digest must resist collisions: with
// a 64-bit FNV-1a one (v1), a request crafted to collide with a popular one
// could have its answer served in that one's place.
// `canonical_request` must already be normalized (defaults filled, aliases
// resolved, repeated fields sorted) and stripped of what does not change the
// answer (deadlines, min revisions): equal requests must serialize equally.
// The revisions make a write change every key, so no entry is ever stale;
// the incarnations keep a store restored to an older revision (which then
// reuses revisions for other data) from reaching the answers of before.
std::string CacheKey(std::string_view method,
                     const google::protobuf::Message& canonical_request,
                     const IndexVersion& version);

// A computed value and the key it belongs under: the key of the version it
// was computed at, which may be newer than the one it was looked up at.
// An empty key stores nothing.
struct KeyedValue {
  std::string value;
  std::string key;
};

// A Redis cache in front of a computation, failing open: whatever happens
// to Redis, callers get the computed answer and never a Redis error. Every
// value is stored sealed by a CacheMac and served only if it opens under its
// key: whoever else writes to Redis can cost a computation, never change an
// answer.
// Concurrent misses of one key in this process share one computation. Calls
// block (on Redis and on the computation): run them where blocking is
// allowed, never on a gRPC reactor thread.
class ResponseCache {
 public:
  using Compute = std::function<absl::StatusOr<std::string>()>;
  using ComputeKeyed = std::function<absl::StatusOr<KeyedValue>()>;

  // Once a value is refused, no other is logged for this long; the next
  // line says how many were refused meanwhile. Whoever plants one value can
  // plant a million.
  static constexpr absl::Duration kRejectedLogInterval = absl::Seconds(10);

  // `redis` and `mac` are not owned and must outlive the cache. Redis is
  // used only with both: null for either disables the cache, so nothing
  // unsealed is ever read or written.
  ResponseCache(RedisPool* redis, const CacheMac* mac,
                ResponseCacheOptions options);
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  // The cached value of `key`, or else the value of `compute`, stored under
  // `key`. An error of `compute` is returned as is and not stored; the
  // callers that shared that computation get it too.
  absl::StatusOr<CacheResult> GetOrCompute(const std::string& key,
                                           const Compute& compute);
  // The same, but the computed value is stored under the key `compute`
  // names, never under `key` when the two differ: the data may have moved
  // between the lookup and the computation. Concurrent callers of `key`
  // still share the computation (its answer is at least as new as `key`).
  absl::StatusOr<CacheResult> GetOrComputeKeyed(const std::string& key,
                                                const ComputeKeyed& compute);

  // The value of `key` in this process's tier, without blocking on
  // anything but a short lock. Counts a hit. GetOrCompute looks here
  // first; the service calls both on its executor, never on a reactor
  // thread (see StatsService).
  std::optional<std::string> PeekLocal(const std::string& key);

  ResponseCacheCounters counters() const;
  const ResponseCacheOptions& options() const { return options_; }

 private:
  struct Flight;

  bool UsesRedis() const;
  CacheResult Count(CacheResult result);
  void LogRejected(const std::string& key, const absl::Status& why);
  // Runs `compute`, stores a success, and says how it went; `outcome` is
  // kMiss if the caller's GET found nothing, kBypass if it failed.
  absl::StatusOr<CacheResult> ComputeAndStore(const ComputeKeyed& compute,
                                              CacheOutcome outcome);
  absl::Duration JitteredTtl();
  void StoreLocal(const std::string& key, const std::string& value,
                  absl::Duration ttl);

  struct LocalEntry {
    std::string value;
    absl::Time expires;
  };

  RedisPool* const redis_;
  const CacheMac* const mac_;
  const ResponseCacheOptions options_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_
      ABSL_GUARDED_BY(mu_);

  absl::Mutex local_mu_;
  absl::flat_hash_map<std::string, LocalEntry> local_
      ABSL_GUARDED_BY(local_mu_);
  // Insertion order, for evicting the oldest when full.
  std::deque<std::string> local_order_ ABSL_GUARDED_BY(local_mu_);

  std::atomic<int64_t> hits_{0};
  std::atomic<int64_t> misses_{0};
  std::atomic<int64_t> bypasses_{0};
  std::atomic<int64_t> computations_{0};
  std::atomic<int64_t> shared_{0};
  std::atomic<int64_t> rejected_{0};

  absl::Mutex log_mu_;
  absl::Time next_rejected_log_ ABSL_GUARDED_BY(log_mu_) = absl::InfinitePast();
  int64_t unlogged_rejections_ ABSL_GUARDED_BY(log_mu_) = 0;
};

}  // namespace thb::aggregator

#endif  // THB_SERVICES_AGGREGATOR_RESPONSE_CACHE_H_
