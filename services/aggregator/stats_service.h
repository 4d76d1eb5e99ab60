#ifndef THB_SERVICES_AGGREGATOR_STATS_SERVICE_H_
#define THB_SERVICES_AGGREGATOR_STATS_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/executor.h"
#include "services/aggregator/index_follower.h"
#include "services/aggregator/query_engine.h"
#include "services/aggregator/response_cache.h"
#include "services/registry/client/registry_snapshot.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb::aggregator {

// Calls that may wait at once for the index to reach the revision they ask
// for (or for its first sync), holding no thread. Each holds its request
// (up to the receive limit) until its deadline; past the bound a call is
// refused at once (RESOURCE_EXHAUSTED).
inline constexpr int kMaxParkedCalls = 256;

// The gRPC face of the statistics engine. Each call runs on the executor
// (it talks to Redis), hot answers of the cache's local tier included: it
// refuses a `min_cooperation_revision` beyond the
// store's (OUT_OF_RANGE); one the store has and the index has not applied
// yet (or an index not synced yet) parks the call, holding no thread, until
// the index holds it (the call then runs again) or the deadline
// (DEADLINE_EXCEEDED; UNAVAILABLE before the first sync) or the client
// cancels, whichever comes first. Then it validates the whole request,
// canonicalizes it, answers from the shared cache or computes over the
// index (stopping at the deadline or when the call is cancelled) and
// stores the answer, and says which revisions it was computed at and
// whether it came from the cache.
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
  // One call: runs on the executor, parks while the index is behind.
  template <typename Request, typename Response>
  class Call;

  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const Request* request, Response* response,
                                  std::string_view method);

  // The answer; or, with `*wait_for` set, no answer yet: the index must
  // first hold that revision (0: have synced).
  template <typename Request, typename Response>
  absl::StatusOr<Response> Answer(const Request& request, const StopWhen& stop,
                                  std::string_view method,
                                  std::optional<int64_t>* wait_for);

  // Takes a parking place: RESOURCE_EXHAUSTED naming kMaxParkedCalls when
  // none is free.
  absl::Status TryPark();
  void Unpark();

  IndexFollower* index_;
  const registry::References* registry_;
  ResponseCache* cache_;
  Executor* executor_;
  absl::Duration default_timeout_;
  std::atomic<int> parked_{0};
};

}  // namespace thb::aggregator

#endif  // THB_SERVICES_AGGREGATOR_STATS_SERVICE_H_
