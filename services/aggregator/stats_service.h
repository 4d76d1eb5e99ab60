#ifndef THB_SERVICES_AGGREGATOR_STATS_SERVICE_H_
#define THB_SERVICES_AGGREGATOR_STATS_SERVICE_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/executor.h"
#include "services/aggregator/index_follower.h"
#include "services/aggregator/query_engine.h"
#include "services/aggregator/response_cache.h"
#include "services/registry/client/registry_mirror.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb::aggregator {

// The gRPC face of the statistics engine. Each call runs on the executor
// (it may wait for a revision and talks to Redis): it refuses a
// `min_cooperation_revision` beyond the store's (OUT_OF_RANGE) and waits for
// the index to reach one within it, validates and canonicalizes the request,
// then answers from the shared cache or computes over the index (stopping at
// the deadline or when the call is cancelled), and says which revisions it
// was computed at and whether it came from the cache.
class StatsService final
    : public stats::v1::StatisticsService::CallbackService {
 public:
  static constexpr char kDomain[] = "stats.thb";

  StatsService(IndexFollower* index, const registry::References* registry,
               ResponseCache* cache, Executor* executor,
               absl::Duration default_timeout)
      : index_(index),
        registry_(registry),
        cache_(cache),
        executor_(executor),
        default_timeout_(default_timeout) {}

  grpc::ServerUnaryReactor* CountCountries(
      grpc::CallbackServerContext* context,
      const stats::v1::CountCountriesRequest* request,
      stats::v1::CountCountriesResponse* response) override;
  grpc::ServerUnaryReactor* Breakdown(
      grpc::CallbackServerContext* context,
      const stats::v1::BreakdownRequest* request,
      stats::v1::BreakdownResponse* response) override;
  grpc::ServerUnaryReactor* CrossTabulate(
      grpc::CallbackServerContext* context,
      const stats::v1::CrossTabulateRequest* request,
      stats::v1::CrossTabulateResponse* response) override;
  grpc::ServerUnaryReactor* Share(grpc::CallbackServerContext* context,
                                  const stats::v1::ShareRequest* request,
                                  stats::v1::ShareResponse* response) override;
  grpc::ServerUnaryReactor* Explain(
      grpc::CallbackServerContext* context,
      const stats::v1::ExplainRequest* request,
      stats::v1::ExplainResponse* response) override;

 private:
  // Runs the whole answer of one call on the executor.
  template <typename Request, typename Response, typename Compute>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const Request* request, Response* response,
                                  std::string_view method, Compute compute);

  template <typename Request, typename Response, typename Compute>
  absl::StatusOr<Response> Answer(const Request& request, const StopWhen& stop,
                                  std::string_view method,
                                  const Compute& compute);

  IndexFollower* index_;
  const registry::References* registry_;
  ResponseCache* cache_;
  Executor* executor_;
  absl::Duration default_timeout_;
};

}  // namespace thb::aggregator

#endif  // THB_SERVICES_AGGREGATOR_STATS_SERVICE_H_
