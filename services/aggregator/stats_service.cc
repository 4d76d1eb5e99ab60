#include "services/aggregator/stats_service.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/dates.h"
#include "common/errors.h"
#include "common/string_view.h"
#include "common/unary.h"
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
  return OffloadUnary(
      context, executor_, response, kDomain,
      [this, context, request, answer_by, method = std::string(method),
       compute] {
        StopWhen stop;
        stop.deadline = answer_by;
        stop.cancelled = [context] { return context->IsCancelled(); };
        return Answer<Request, Response>(*request, stop, method, compute);
      });
}

template <typename Request, typename Response, typename Compute>
absl::StatusOr<Response> StatsService::Answer(const Request& request,
                                              const StopWhen& stop,
                                              std::string_view method,
                                              const Compute& compute) {
  const absl::Time deadline = stop.deadline;
  const int64_t min_revision = request.min_cooperation_revision();
  if (min_revision < 0) {
    return InvalidArgument("min_cooperation_revision",
                           absl::StrCat(min_revision, " is negative"));
  }
  auto day = ParseDateOrToday(request.as_of_date(), "as_of_date");
  if (!day.ok()) return day.status();
  if (auto status = index_->WaitSynced(deadline); !status.ok()) return status;
  if (min_revision > index_->revision()) {
    // A revision the store has not written would hold the call until its
    // deadline: refused at once instead.
    if (auto status = index_->CheckReachable(min_revision, deadline);
        !status.ok()) {
      return status;
    }
    if (auto status = index_->WaitForRevision(min_revision, deadline);
        !status.ok()) {
      return status;
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
