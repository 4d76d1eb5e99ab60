#include "services/aggregator/response_cache.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/fingerprint.h"
#include "common/logging.h"
#include "common/string_view.h"

namespace thb::aggregator {

struct ResponseCache::Flight {
  absl::Notification done;
  // Stays so only if the computation ends without returning.
  absl::StatusOr<CacheResult> result =
      absl::InternalError("the shared computation ended without a result");
};

std::string_view CacheOutcomeName(CacheOutcome outcome) {
  switch (outcome) {
    case CacheOutcome::kHit:
      return "hit";
    case CacheOutcome::kMiss:
      return "miss";
    case CacheOutcome::kBypass:
      return "bypass";
  }
  return "unknown";
}

std::string CacheKey(std::string_view method,
                     const google::protobuf::Message& canonical_request,
                     const IndexVersion& version) {
  return absl::StrCat(
      "thb:v2:", ToAbsl(method), ":", MessageDigestHex(canonical_request), ":",
      version.registry_incarnation, ".", version.registry_revision, ":",
      version.cooperation_incarnation, ".", version.cooperation_revision);
}

ResponseCache::ResponseCache(RedisPool* redis, const CacheMac* mac,
                             ResponseCacheOptions options)
    : redis_(redis), mac_(mac), options_(options) {}

bool ResponseCache::UsesRedis() const {
  return options_.enabled && redis_ != nullptr && mac_ != nullptr;
}

absl::StatusOr<CacheResult> ResponseCache::GetOrCompute(
    const std::string& key, const Compute& compute) {
  return GetOrComputeKeyed(key,
                           [&key, &compute]() -> absl::StatusOr<KeyedValue> {
                             absl::StatusOr<std::string> value = compute();
                             if (!value.ok()) return value.status();
                             return KeyedValue{*std::move(value), key};
                           });
}

absl::StatusOr<CacheResult> ResponseCache::GetOrComputeKeyed(
    const std::string& key, const ComputeKeyed& compute) {
  if (!UsesRedis()) {
    computations_.fetch_add(1, std::memory_order_relaxed);
    absl::StatusOr<KeyedValue> computed = compute();
    if (!computed.ok()) return computed.status();
    return Count(
        CacheResult{std::move(computed->value), CacheOutcome::kBypass});
  }

  if (std::optional<std::string> local = PeekLocal(key); local.has_value()) {
    return CacheResult{*std::move(local), CacheOutcome::kHit};
  }
  // Fail open: a Redis error only means this answer is computed, not
  // stored.
  CacheOutcome if_computed = CacheOutcome::kMiss;
  absl::StatusOr<std::optional<std::string>> cached = redis_->Get(key);
  if (!cached.ok()) {
    if_computed = CacheOutcome::kBypass;
  } else if (cached->has_value()) {
    absl::StatusOr<std::string> value = mac_->Open(key, **cached);
    if (value.ok()) {
      StoreLocal(key, *value, JitteredTtl());
      return Count(CacheResult{*std::move(value), CacheOutcome::kHit});
    }
    // Never served: computed again, and the store below overwrites it.
    rejected_.fetch_add(1, std::memory_order_relaxed);
    LogRejected(key, value.status());
  }

  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = flights_.try_emplace(key);
    if (inserted) it->second = std::make_shared<Flight>();
    flight = it->second;
    leader = inserted;
  }

  if (!leader) {
    flight->done.WaitForNotification();
    const absl::StatusCode failed = flight->result.status().code();
    if (failed == absl::StatusCode::kCancelled ||
        failed == absl::StatusCode::kDeadlineExceeded) {
      // The leader's caller gave up (its call was cancelled or its deadline
      // passed), which says nothing about this caller: compute alone.
      auto own = ComputeAndStore(compute, if_computed);
      if (!own.ok()) return own.status();
      return Count(*std::move(own));
    }
    shared_.fetch_add(1, std::memory_order_relaxed);
    if (!flight->result.ok()) return flight->result.status();
    CacheResult result = *flight->result;
    if (if_computed == CacheOutcome::kBypass) {
      result.outcome = CacheOutcome::kBypass;
    }
    return Count(std::move(result));
  }

  // Waiters are released even if the computation never returns normally.
  // Until the flight is erased, late callers that missed before the value
  // was stored join it and get the value at once instead of computing again.
  absl::Cleanup land = [this, &key, &flight] {
    flight->done.Notify();
    absl::MutexLock lock(&mu_);
    flights_.erase(key);
  };
  flight->result = ComputeAndStore(compute, if_computed);
  if (!flight->result.ok()) return flight->result.status();
  return Count(*flight->result);
}

absl::StatusOr<CacheResult> ResponseCache::ComputeAndStore(
    const ComputeKeyed& compute, CacheOutcome outcome) {
  computations_.fetch_add(1, std::memory_order_relaxed);
  absl::StatusOr<KeyedValue> computed = compute();
  if (!computed.ok()) return computed.status();
  const std::string& key = computed->key;
  if (outcome == CacheOutcome::kMiss && !key.empty()) {
    const absl::Duration ttl = JitteredTtl();
    absl::StatusOr<std::string> sealed = mac_->Seal(key, computed->value);
    if (sealed.ok() && redis_->Set(key, *sealed, ttl).ok()) {
      StoreLocal(key, computed->value, ttl);
    } else {
      outcome = CacheOutcome::kBypass;
    }
  }
  return CacheResult{std::move(computed->value), outcome};
}

// The local tier holds only what Redis holds too (a hit, or a successful
// store), so with Redis down answers are computed and say so.
std::optional<std::string> ResponseCache::PeekLocal(const std::string& key) {
  if (!UsesRedis() || options_.local_entries <= 0) {
    return std::nullopt;
  }
  absl::MutexLock lock(&local_mu_);
  auto it = local_.find(key);
  if (it == local_.end()) return std::nullopt;
  if (it->second.expires <= absl::Now()) {
    local_.erase(it);
    return std::nullopt;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second.value;
}

void ResponseCache::StoreLocal(const std::string& key, const std::string& value,
                               absl::Duration ttl) {
  if (options_.local_entries <= 0) return;
  absl::MutexLock lock(&local_mu_);
  auto [it, inserted] =
      local_.insert_or_assign(key, LocalEntry{value, absl::Now() + ttl});
  if (!inserted) return;
  local_order_.push_back(key);
  while (static_cast<int>(local_order_.size()) > options_.local_entries) {
    local_.erase(local_order_.front());
    local_order_.pop_front();
  }
}

CacheResult ResponseCache::Count(CacheResult result) {
  switch (result.outcome) {
    case CacheOutcome::kHit:
      hits_.fetch_add(1, std::memory_order_relaxed);
      break;
    case CacheOutcome::kMiss:
      misses_.fetch_add(1, std::memory_order_relaxed);
      break;
    case CacheOutcome::kBypass:
      bypasses_.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  return result;
}

// The key is shown (it names a method, a request fingerprint and
// revisions), the value never: it is whatever someone chose to plant.
void ResponseCache::LogRejected(const std::string& key,
                                const absl::Status& why) {
  int64_t also = 0;
  {
    absl::MutexLock lock(&log_mu_);
    const absl::Time now = absl::Now();
    if (now < next_rejected_log_) {
      ++unlogged_rejections_;
      return;
    }
    next_rejected_log_ = now + kRejectedLogInterval;
    also = unlogged_rejections_;
    unlogged_rejections_ = 0;
  }
  const std::string also_refused =
      also == 0 ? ""
                : absl::StrCat(" (and ", also, " more refused in the last ",
                               absl::FormatDuration(kRejectedLogInterval), ")");
  THB_LOG(Warning) << "refused the value cached under \"" << key
                   << "\": " << why.message() << "; computed and stored again"
                   << also_refused;
}

absl::Duration ResponseCache::JitteredTtl() {
  absl::Duration ttl = options_.ttl;
  if (options_.jitter > 0) {
    thread_local absl::InsecureBitGen random;
    const double jitter = std::min(options_.jitter, 1.0);
    ttl *= absl::Uniform(absl::IntervalClosed, random, 1 - jitter, 1 + jitter);
  }
  return std::max(ttl, absl::Milliseconds(1));
}

ResponseCacheCounters ResponseCache::counters() const {
  ResponseCacheCounters counters;
  counters.hits = hits_.load(std::memory_order_relaxed);
  counters.misses = misses_.load(std::memory_order_relaxed);
  counters.bypasses = bypasses_.load(std::memory_order_relaxed);
  counters.computations = computations_.load(std::memory_order_relaxed);
  counters.shared = shared_.load(std::memory_order_relaxed);
  counters.rejected = rejected_.load(std::memory_order_relaxed);
  return counters;
}

}  // namespace thb::aggregator
