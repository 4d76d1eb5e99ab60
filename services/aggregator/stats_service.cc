#include "services/aggregator/stats_service.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/dates.h"
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

// Each request's queries checked under the names the caller gave them,
// before anything rewrites them.
absl::Status ValidateQueries(const v1::CountCountriesRequest& request,
                             const registry::RegistrySnapshot& registry) {
  return ValidateQuery(request.query(), registry, "query");
}
absl::Status ValidateQueries(const v1::BreakdownRequest& request,
                             const registry::RegistrySnapshot& registry) {
  return ValidateQuery(request.query(), registry, "query");
}
absl::Status ValidateQueries(const v1::CrossTabulateRequest& request,
                             const registry::RegistrySnapshot& registry) {
  return ValidateQuery(request.query(), registry, "query");
}
absl::Status ValidateQueries(const v1::ExplainRequest& request,
                             const registry::RegistrySnapshot& registry) {
  return ValidateQuery(request.query(), registry, "query");
}
absl::Status ValidateQueries(const v1::ShareRequest& request,
                             const registry::RegistrySnapshot& registry) {
  std::vector<FieldViolation> violations;
  for (const absl::Status& status :
       {ValidateQuery(request.part(), registry, "part"),
        ValidateQuery(request.whole(), registry, "whole")}) {
    for (FieldViolation& violation : FieldViolations(status)) {
      violations.push_back(std::move(violation));
    }
  }
  if (violations.empty()) return absl::OkStatus();
  return InvalidArgument(std::move(violations));
}

// The one form of each request (see CanonicalizeQuery), defaults spelled
// out.
void Canonicalize(v1::CountCountriesRequest* request,
                  const registry::RegistrySnapshot& registry) {
  CanonicalizeQuery(request->mutable_query(), registry);
}
v1::Measure CanonicalMeasure(v1::Measure measure) {
  return measure == v1::MEASURE_UNSPECIFIED ? v1::MEASURE_COUNTRIES : measure;
}
void Canonicalize(v1::BreakdownRequest* request,
                  const registry::RegistrySnapshot& registry) {
  CanonicalizeQuery(request->mutable_query(), registry);
  request->set_measure(CanonicalMeasure(request->measure()));
}
void Canonicalize(v1::CrossTabulateRequest* request,
                  const registry::RegistrySnapshot& registry) {
  CanonicalizeQuery(request->mutable_query(), registry);
  request->set_measure(CanonicalMeasure(request->measure()));
}
void Canonicalize(v1::ExplainRequest* request,
                  const registry::RegistrySnapshot& registry) {
  CanonicalizeQuery(request->mutable_query(), registry);
}
void Canonicalize(v1::ShareRequest* request,
                  const registry::RegistrySnapshot& registry) {
  CanonicalizeQuery(request->mutable_part(), registry);
  CanonicalizeQuery(request->mutable_whole(), registry);
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
template <typename Request, typename Response, typename Compute>
class StatsService::Call final : public grpc::ServerUnaryReactor {
 public:
  Call(StatsService* service, grpc::CallbackServerContext* context,
       const Request* request, Response* response, std::string method,
       Compute compute, absl::Time answer_by)
      : service_(service),
        context_(context),
        request_(request),
        response_(response),
        method_(std::move(method)),
        compute_(std::move(compute)),
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
        *request_, stop, method_, compute_, &wait_for);
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
  const Compute compute_;
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

template <typename Request, typename Response, typename Compute>
grpc::ServerUnaryReactor* StatsService::Serve(
    grpc::CallbackServerContext* context, const Request* request,
    Response* response, std::string_view method, Compute compute) {
  const absl::Time now = absl::Now();
  const absl::Time deadline =
      std::min(absl::FromChrono(context->deadline()), now + default_timeout_);
  // Waits end a little before the caller gives up, so that it hears why.
  const absl::Time answer_by =
      deadline - std::max(absl::Milliseconds(50), (deadline - now) / 10);
  auto* call = new Call<Request, Response, Compute>(
      this, context, request, response, std::string(method), std::move(compute),
      answer_by);
  call->Start();
  return call;
}

template <typename Request, typename Response, typename Compute>
absl::StatusOr<Response> StatsService::Answer(
    const Request& request, const StopWhen& stop, std::string_view method,
    const Compute& compute, std::optional<int64_t>* wait_for) {
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
  if (auto status = ValidateQueries(request, **registry); !status.ok()) {
    return status;
  }

  // The key holds what decides the answer: the request in its one form (its
  // date resolved, the wait condition and unknown fields dropped), computed
  // as such, and the version of the data it was computed at.
  Request canonical = request;
  canonical.DiscardUnknownFields();
  Canonicalize(&canonical, **registry);
  canonical.set_as_of_date(FormatDate(*day));
  canonical.clear_min_cooperation_revision();
  const std::string key =
      CacheKey(method, canonical,
               IndexVersion{(*registry)->incarnation, (*registry)->revision,
                            index_->incarnation(), index_->revision()});

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
          computed = compute(index, **registry, *day, canonical, stop);
        });
        if (!computed.ok()) return computed.status();
        computed->mutable_as_of()->set_registry_revision(at.registry_revision);
        computed->mutable_as_of()->set_cooperation_revision(
            at.cooperation_revision);
        return KeyedValue{computed->SerializeAsString(),
                          CacheKey(method, canonical, at)};
      });
  if (!cached.ok()) return cached.status();
  Response response;
  if (!response.ParseFromString(cached->value)) {
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
  return Serve(
      context, request, response, "CountCountries",
      [](const RecordIndex& index, const registry::RegistrySnapshot& registry,
         absl::CivilDay day, const v1::CountCountriesRequest& r,
         const StopWhen& stop) {
        return aggregator::CountCountries(index, registry, day, r.query(),
                                          stop);
      });
}

grpc::ServerUnaryReactor* StatsService::Breakdown(
    grpc::CallbackServerContext* context, const v1::BreakdownRequest* request,
    v1::BreakdownResponse* response) {
  return Serve(
      context, request, response, "Breakdown",
      [](const RecordIndex& index, const registry::RegistrySnapshot& registry,
         absl::CivilDay day, const v1::BreakdownRequest& r,
         const StopWhen& stop) {
        return aggregator::Breakdown(index, registry, day, r.query(),
                                     r.dimension(), r.measure(), stop);
      });
}

grpc::ServerUnaryReactor* StatsService::CrossTabulate(
    grpc::CallbackServerContext* context,
    const v1::CrossTabulateRequest* request,
    v1::CrossTabulateResponse* response) {
  return Serve(
      context, request, response, "CrossTabulate",
      [](const RecordIndex& index, const registry::RegistrySnapshot& registry,
         absl::CivilDay day, const v1::CrossTabulateRequest& r,
         const StopWhen& stop) {
        return aggregator::CrossTabulate(
            index, registry, day, r.query(), r.row_dimension(),
            r.column_dimension(), r.measure(), stop);
      });
}

grpc::ServerUnaryReactor* StatsService::Share(
    grpc::CallbackServerContext* context, const v1::ShareRequest* request,
    v1::ShareResponse* response) {
  return Serve(
      context, request, response, "Share",
      [](const RecordIndex& index, const registry::RegistrySnapshot& registry,
         absl::CivilDay day, const v1::ShareRequest& r, const StopWhen& stop) {
        return aggregator::Share(index, registry, day, r.part(), r.whole(),
                                 stop);
      });
}

grpc::ServerUnaryReactor* StatsService::Explain(
    grpc::CallbackServerContext* context, const v1::ExplainRequest* request,
    v1::ExplainResponse* response) {
  return Serve(
      context, request, response, "Explain",
      [](const RecordIndex& index, const registry::RegistrySnapshot& registry,
         absl::CivilDay day, const v1::ExplainRequest& r,
         const StopWhen& stop) {
        return aggregator::Explain(index, registry, day, r.query(), stop);
      });
}

}  // namespace thb::aggregator
