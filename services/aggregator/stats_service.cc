#include "services/aggregator/stats_service.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/dates.h"
#include "common/deadline.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "common/string_view.h"
#include "grpcpp/alarm.h"
#include "services/aggregator/query_engine.h"

namespace thb::aggregator {
namespace {

namespace v1 = ::thb::stats::v1;

v1::CacheStatus ToCacheStatus(CacheOutcome outcome) {
  switch (outcome) {
    case CacheOutcome::kHit:
      return v1::CACHE_STATUS_HIT;
    case CacheOutcome::kMiss:
      return v1::CACHE_STATUS_MISS;
    case CacheOutcome::kBypass:
      break;
  }
  return v1::CACHE_STATUS_BYPASS;
}

}  // namespace

absl::Status StatsService::TryPark() {
  if (parked_.fetch_add(1, std::memory_order_acq_rel) >= kMaxParkedCalls) {
    parked_.fetch_sub(1, std::memory_order_acq_rel);
    return absl::ResourceExhaustedError(absl::StrCat(
        "the server is overloaded: ", kMaxParkedCalls,
        " calls already wait for the index to reach a cooperation revision, "
        "the limit (kMaxParkedCalls); retry with backoff"));
  }
  return absl::OkStatus();
}

void StatsService::Unpark() { parked_.fetch_sub(1, std::memory_order_acq_rel); }

// The states of a call: running on the executor; parked (no thread) with an
// alarm at its deadline and a callback of the index, each of which, like the
// client cancelling, may end the parking: the first one to take mu_ does,
// the others then find nothing parked (or another parking, by generation);
// finished. The call frees itself when gRPC is done with it and every
// callback it registered has run or been dropped (refs_).
template <typename Request, typename Response>
class StatsService::Call final : public grpc::ServerUnaryReactor {
 public:
  Call(StatsService* service, grpc::CallbackServerContext* context,
       const Request* request, Response* response, std::string method,
       absl::Time answer_by)
      : service_(service),
        context_(context),
        request_(request),
        response_(response),
        method_(std::move(method)),
        answer_by_(answer_by) {}

  void Start() {
    const absl::Status admitted =
        service_->executor_->TrySchedule([this] { Run(); });
    if (!admitted.ok()) FinishOnce(admitted);
  }

  void OnCancel() override {
    Parking parking;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      parking = EndParkingLocked();
    }
    if (!parking.ended) return;
    Release(parking);
    FinishOnce(absl::CancelledError(
        "the call was cancelled while it waited for the index"));
  }

  void OnDone() override { Unref(); }

 private:
  // What the one that ended a parking must release.
  struct Parking {
    bool ended = false;
    grpc::Alarm* alarm = nullptr;
    uint64_t waiter = 0;
  };

  void Run() {
    if (context_->IsCancelled()) {
      FinishOnce(absl::CancelledError("the call was cancelled before it ran"));
      return;
    }
    StopWhen stop;
    stop.deadline = answer_by_;
    grpc::CallbackServerContext* context = context_;
    stop.cancelled = [context] { return context->IsCancelled(); };
    std::optional<int64_t> wait_for;
    absl::StatusOr<Response> result = service_->Answer<Request, Response>(
        *request_, stop, method_, &wait_for);
    if (wait_for.has_value()) {
      // This thread's: the parking may end, and the call be done, before
      // Park returns.
      refs_.fetch_add(1, std::memory_order_relaxed);
      Park(*wait_for);
      Unref();
      return;
    }
    if (!result.ok()) {
      FinishOnce(result.status());
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
    }
    *response_ = *std::move(result);
    Finish(grpc::Status::OK);
  }

  // Returns this thread to the executor until the index holds `wait_for`,
  // the deadline, or the client cancels.
  void Park(int64_t wait_for) {
    grpc::Alarm* alarm = nullptr;
    uint64_t generation = 0;
    absl::Status refused;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) {
        refused = absl::CancelledError(
            "the call was cancelled before it waited for the index");
      } else {
        refused = service_->TryPark();
      }
      if (refused.ok()) {
        parked_ = true;
        generation = ++generation_;
        wait_for_ = wait_for;
        armed_ = false;
        waiter_ = 0;
        alarms_.push_back(std::make_unique<grpc::Alarm>());
        alarm = alarms_.back().get();
        alarm_ = alarm;
        refs_.fetch_add(1, std::memory_order_relaxed);  // the alarm's
      }
    }
    if (!refused.ok()) {
      FinishOnce(refused);
      return;
    }
    // The alarm's callback runs once whether it fires or is cancelled.
    alarm->Set(absl::ToChronoTime(answer_by_),
               [this, generation](bool fired) { OnAlarm(generation, fired); });
    bool still_parked;
    {
      absl::MutexLock lock(&mu_);
      // Cancelling an alarm is safe only once it is set.
      armed_ = true;
      still_parked = parked_ && generation_ == generation;
      if (still_parked) refs_.fetch_add(1, std::memory_order_relaxed);
    }
    if (!still_parked) {
      // Ended (cancelled) while the alarm was being set.
      alarm->Cancel();
      return;
    }
    const uint64_t waiter = service_->index_->WhenRevision(
        wait_for, [this, generation] { OnRevision(generation); });
    {
      absl::MutexLock lock(&mu_);
      still_parked = parked_ && generation_ == generation;
      if (still_parked) waiter_ = waiter;
    }
    // Ended before the one who ended it could know the waiter.
    if (!still_parked && waiter != 0 && service_->index_->CancelWhen(waiter)) {
      Unref();
    }
  }

  Parking EndParkingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Parking parking;
    if (!parked_) return parking;
    parking.ended = true;
    parking.alarm = armed_ ? alarm_ : nullptr;
    parking.waiter = waiter_;
    parked_ = false;
    armed_ = false;
    waiter_ = 0;
    return parking;
  }

  // Drops what the ended parking registered, outside mu_.
  void Release(const Parking& parking) {
    service_->Unpark();
    if (parking.alarm != nullptr) parking.alarm->Cancel();
    if (parking.waiter != 0 && service_->index_->CancelWhen(parking.waiter)) {
      Unref();
    }
  }

  void OnRevision(uint64_t generation) {
    Parking parking;
    {
      absl::MutexLock lock(&mu_);
      if (generation_ == generation) {
        parking = EndParkingLocked();
        // This callback is the waiter: it is no longer registered.
        parking.waiter = 0;
      }
    }
    if (parking.ended) {
      Release(parking);
      // Continues a call already admitted, whose place in the queue a
      // refusal would waste; kMaxParkedCalls bounds what this adds.
      service_->executor_->Schedule([this] { Run(); });
    }
    Unref();
  }

  void OnAlarm(uint64_t generation, bool fired) {
    Parking parking;
    int64_t wait_for = 0;
    {
      absl::MutexLock lock(&mu_);
      if (fired && generation_ == generation) {
        parking = EndParkingLocked();
        parking.alarm = nullptr;  // it has fired
        wait_for = wait_for_;
      }
    }
    if (parking.ended) {
      Release(parking);
      FinishOnce(wait_for == 0
                     ? service_->index_->NotSynced()
                     : service_->index_->RevisionNotReached(wait_for));
    }
    Unref();
  }

  void FinishOnce(const absl::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
    }
    response_->Clear();
    Finish(ToGrpcStatus(status, kDomain));
  }

  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  StatsService* const service_;
  grpc::CallbackServerContext* const context_;
  const Request* const request_;
  Response* const response_;
  const std::string method_;
  const absl::Time answer_by_;
  // gRPC's (until OnDone), and one for each callback registered and not yet
  // run or dropped.
  std::atomic<int> refs_{1};

  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool parked_ ABSL_GUARDED_BY(mu_) = false;
  // Each parking's own: a callback of an earlier one ends nothing.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t wait_for_ ABSL_GUARDED_BY(mu_) = 0;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Alarm* alarm_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t waiter_ ABSL_GUARDED_BY(mu_) = 0;
  // Every alarm set, kept until the call is freed: each callback must run
  // before its alarm goes.
  std::vector<std::unique_ptr<grpc::Alarm>> alarms_ ABSL_GUARDED_BY(mu_);
};

template <typename Request, typename Response>
grpc::ServerUnaryReactor* StatsService::Serve(
    grpc::CallbackServerContext* context, const Request* request,
    Response* response, std::string_view method) {
  const absl::Time answer_by = AnswerBy(absl::FromChrono(context->deadline()),
                                        absl::Now(), default_timeout_);
  auto* call = new Call<Request, Response>(this, context, request, response,
                                           std::string(method), answer_by);
  call->Start();
  return call;
}

// Every statistics request takes this one path, in order: validate,
// canonicalize, look up the cache, compute, store, answer.
template <typename Request, typename Response>
absl::StatusOr<Response> StatsService::Answer(
    const Request& request, const StopWhen& stop, std::string_view method,
    std::optional<int64_t>* wait_for) {
  // Validate what needs no registry, before waiting for anything: the wait
  // condition, and the date, parsed here once into the day everything after
  // uses.
  const absl::Time deadline = stop.deadline;
  const int64_t min_revision = request.min_cooperation_revision();
  if (min_revision < 0) {
    return InvalidArgument("min_cooperation_revision",
                           absl::StrCat(min_revision, " is negative"));
  }
  auto day = ParseDateOrToday(request.as_of_date(), "as_of_date");
  if (!day.ok()) return day.status();
  if (!index_->synced()) {
    *wait_for = 0;
    return index_->NotSynced();
  }
  if (min_revision > index_->revision()) {
    // A revision the store has not written would park the call until its
    // deadline: refused at once instead.
    if (auto status = index_->CheckReachable(min_revision, deadline);
        !status.ok()) {
      return status;
    }
    if (!index_->Holds(min_revision)) {
      *wait_for = min_revision;
      return index_->RevisionNotReached(min_revision);
    }
  }
  auto registry = registry_->Snapshot(deadline);
  if (!registry.ok()) return registry.status();
  // Validate the rest, under the names the caller gave, before anything
  // rewrites the request.
  if (auto status = ValidateRequest(request, **registry); !status.ok()) {
    return status;
  }

  // Canonicalize: the key holds what decides the answer, the request in its
  // one form, computed as such, and the version of the data it was computed
  // at.
  Request canonical = request;
  CanonicalizeRequest(&canonical, **registry, *day);

  // Look up; on a miss, compute and store. The answer this call computes is
  // kept as it is: only an answer read from the cache, or computed by
  // another call, is parsed.
  const std::string key =
      CacheKey(method, canonical,
               IndexVersion{(*registry)->incarnation, (*registry)->revision,
                            index_->incarnation(), index_->revision()});
  std::optional<Response> computed_here;
  auto cached =
      cache_->GetOrComputeKeyed(key, [&]() -> absl::StatusOr<KeyedValue> {
        absl::StatusOr<Response> computed = absl::UnknownError("not computed");
        IndexVersion at;
        index_->Read([&](const RecordIndex& index, int64_t revision,
                         const std::string& incarnation) {
          // Read under the lock the computation holds: the index cannot
          // move between the two.
          at = IndexVersion{(*registry)->incarnation, (*registry)->revision,
                            incarnation, revision};
          computed = AnswerRequest(index, **registry, *day, canonical, stop);
        });
        if (!computed.ok()) return computed.status();
        computed->mutable_as_of()->set_registry_revision(at.registry_revision);
        computed->mutable_as_of()->set_cooperation_revision(
            at.cooperation_revision);
        KeyedValue stored{computed->SerializeAsString(),
                          CacheKey(method, canonical, at)};
        computed_here = *std::move(computed);
        return stored;
      });
  if (!cached.ok()) return cached.status();

  // Answer: the stored answer, and where it came from.
  Response response;
  if (computed_here.has_value()) {
    response = *std::move(computed_here);
  } else if (!response.ParseFromString(cached->value)) {
    return absl::InternalError(absl::StrCat("a cached answer for ",
                                            ToAbsl(method), " cannot be read"));
  }
  response.set_cache(ToCacheStatus(cached->outcome));
  return response;
}

grpc::ServerUnaryReactor* StatsService::CountCountries(
    grpc::CallbackServerContext* context,
    const v1::CountCountriesRequest* request,
    v1::CountCountriesResponse* response) {
  return Serve(context, request, response, "CountCountries");
}

grpc::ServerUnaryReactor* StatsService::Breakdown(
    grpc::CallbackServerContext* context, const v1::BreakdownRequest* request,
    v1::BreakdownResponse* response) {
  return Serve(context, request, response, "Breakdown");
}

grpc::ServerUnaryReactor* StatsService::CrossTabulate(
    grpc::CallbackServerContext* context,
    const v1::CrossTabulateRequest* request,
    v1::CrossTabulateResponse* response) {
  return Serve(context, request, response, "CrossTabulate");
}

grpc::ServerUnaryReactor* StatsService::Share(
    grpc::CallbackServerContext* context, const v1::ShareRequest* request,
    v1::ShareResponse* response) {
  return Serve(context, request, response, "Share");
}

grpc::ServerUnaryReactor* StatsService::Explain(
    grpc::CallbackServerContext* context, const v1::ExplainRequest* request,
    v1::ExplainResponse* response) {
  return Serve(context, request, response, "Explain");
}

}  // namespace thb::aggregator
