#include "services/aggregator/stats_service.h"

#include <algorithm>
#include <string>

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
      [this, request, answer_by, method = std::string(method), compute] {
        return Answer<Request, Response>(*request, answer_by, method, compute);
      });
}

template <typename Request, typename Response, typename Compute>
absl::StatusOr<Response> StatsService::Answer(const Request& request,
                                              absl::Time deadline,
                                              std::string_view method,
                                              const Compute& compute) {
  if (request.min_cooperation_revision() < 0) {
    return InvalidArgument(
        "min_cooperation_revision",
        absl::StrCat(request.min_cooperation_revision(), " is negative"));
  }
  auto day = ParseDateOrToday(request.as_of_date(), "as_of_date");
  if (!day.ok()) return day.status();
  if (auto status = index_->WaitSynced(deadline); !status.ok()) return status;
  if (request.min_cooperation_revision() > 0) {
    if (auto status = index_->WaitForRevision(
            request.min_cooperation_revision(), deadline);
        !status.ok()) {
      return status;
    }
  }
  auto registry = registry_->Snapshot(deadline);
  if (!registry.ok()) return registry.status();

  // The key holds what decides the answer: the request as judged (its date
  // resolved, the wait condition dropped) and the revisions of the data.
  Request canonical = request;
  canonical.set_as_of_date(FormatDate(*day));
  canonical.clear_min_cooperation_revision();
  const std::string key = CacheKey(method, canonical, (*registry)->incarnation,
                                   (*registry)->revision, index_->incarnation(),
                                   index_->revision());

  auto cached = cache_->GetOrCompute(key, [&]() -> absl::StatusOr<std::string> {
    absl::StatusOr<Response> computed = absl::UnknownError("not computed");
    index_->Read([&](const RecordIndex& index, int64_t revision) {
      computed = compute(index, **registry, *day, request);
      if (computed.ok()) {
        computed->mutable_as_of()->set_registry_revision((*registry)->revision);
        computed->mutable_as_of()->set_cooperation_revision(revision);
      }
    });
    if (!computed.ok()) return computed.status();
    return computed->SerializeAsString();
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
         absl::CivilDay day, const v1::CountCountriesRequest& r) {
        return aggregator::CountCountries(index, registry, day, r.query());
      });
}

grpc::ServerUnaryReactor* StatsService::Breakdown(
    grpc::CallbackServerContext* context, const v1::BreakdownRequest* request,
    v1::BreakdownResponse* response) {
  return Serve(
      context, request, response, "Breakdown",
      [](const RecordIndex& index, const registry::RegistrySnapshot& registry,
         absl::CivilDay day, const v1::BreakdownRequest& r) {
        return aggregator::Breakdown(index, registry, day, r.query(),
                                     r.dimension(), r.measure());
      });
}

grpc::ServerUnaryReactor* StatsService::CrossTabulate(
    grpc::CallbackServerContext* context,
    const v1::CrossTabulateRequest* request,
    v1::CrossTabulateResponse* response) {
  return Serve(
      context, request, response, "CrossTabulate",
      [](const RecordIndex& index, const registry::RegistrySnapshot& registry,
         absl::CivilDay day, const v1::CrossTabulateRequest& r) {
        return aggregator::CrossTabulate(index, registry, day, r.query(),
                                         r.row_dimension(),
                                         r.column_dimension(), r.measure());
      });
}

grpc::ServerUnaryReactor* StatsService::Share(
    grpc::CallbackServerContext* context, const v1::ShareRequest* request,
    v1::ShareResponse* response) {
  return Serve(
      context, request, response, "Share",
      [](const RecordIndex& index, const registry::RegistrySnapshot& registry,
         absl::CivilDay day, const v1::ShareRequest& r) {
        return aggregator::Share(index, registry, day, r.part(), r.whole());
      });
}

grpc::ServerUnaryReactor* StatsService::Explain(
    grpc::CallbackServerContext* context, const v1::ExplainRequest* request,
    v1::ExplainResponse* response) {
  return Serve(
      context, request, response, "Explain",
      [](const RecordIndex& index, const registry::RegistrySnapshot& registry,
         absl::CivilDay day, const v1::ExplainRequest& r) {
        return aggregator::Explain(index, registry, day, r.query());
      });
}

}  // namespace thb::aggregator
