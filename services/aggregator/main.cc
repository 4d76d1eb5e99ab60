// thb-aggregator: statistics over an in-memory index of the cooperation
// records, kept by list+watch, behind a shared Redis cache.

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/channel.h"
#include "common/config.h"
#include "common/echo_service.h"
#include "common/executor.h"
#include "common/logging.h"
#include "common/redis_client.h"
#include "common/server.h"
#include "common/server_flags.h"
#include "services/aggregator/index_follower.h"
#include "services/aggregator/response_cache.h"
#include "services/aggregator/stats_service.h"
#include "services/registry/client/registry_mirror.h"

THB_SERVER_FLAGS(50053, 50063);
ABSL_FLAG(std::string, registry, "127.0.0.1:50051",
          "Address of thb-registry (EMN statuses, regions, organisations).");
ABSL_FLAG(std::string, cooperation, "127.0.0.1:50052",
          "Address of thb-cooperation, whose records are indexed.");
ABSL_FLAG(std::string, redis, "127.0.0.1:6379",
          "Redis shared by the replicas as a response cache; empty disables "
          "the cache.");
ABSL_FLAG(absl::Duration, cache_ttl, absl::Minutes(5),
          "Lifetime of a cached answer (each entry ±20%).");
ABSL_FLAG(int, redis_pool, 16, "Redis connections of this replica.");
ABSL_FLAG(absl::Duration, redis_timeout, absl::Milliseconds(250),
          "Connect and command timeout of Redis calls.");
ABSL_FLAG(int, query_threads, 8, "Threads that answer queries.");
ABSL_FLAG(absl::Duration, default_timeout, absl::Seconds(10),
          "Deadline of a call that brings none.");
ABSL_FLAG(bool, benchmark_echo, false,
          "Also serve /thb.bench.v1.Echo/Echo, a trivial RPC that benchmarks "
          "compare StatisticsService with.");

int main(int argc, char** argv) {
  thb::ParseFlagsWithEnvironment(
      argc, argv,
      thb::WithServerBindings(
          "AGGREGATOR", {{"registry", "THB_REGISTRY_ADDRESS"},
                         {"cooperation", "THB_COOPERATION_ADDRESS"},
                         {"redis", "THB_REDIS_ADDRESS"},
                         {"cache_ttl", "THB_CACHE_TTL"},
                         {"redis_pool", "THB_REDIS_POOL"},
                         {"redis_timeout", "THB_REDIS_TIMEOUT"},
                         {"query_threads", "THB_AGGREGATOR_QUERY_THREADS"},
                         {"default_timeout", "THB_DEFAULT_TIMEOUT"}}),
      "The statistics service of thb.");
  thb::SetLogName("aggregator");

  thb::Server server(thb::ServerOptionsFromFlags());
  thb::InstallSignalHandlers(&server);

  const auto outgoing = thb::OutgoingChannelOptionsFromFlags();
  if (!outgoing.ok()) {
    THB_LOG(Error) << outgoing.status();
    return EXIT_FAILURE;
  }

  thb::registry::RegistryMirror::Options mirror_options;
  mirror_options.address = absl::GetFlag(FLAGS_registry);
  // Statistics judge EMN statuses on the last known registry; an outage
  // makes answers older, not wrong, so the copy never expires here.
  mirror_options.max_staleness = absl::InfiniteDuration();
  thb::registry::RegistryMirror registry(
      thb::MakeChannel(absl::GetFlag(FLAGS_registry), *outgoing), mirror_options);
  registry.Start();

  thb::aggregator::IndexFollower::Options follower_options;
  follower_options.address = absl::GetFlag(FLAGS_cooperation);
  thb::aggregator::IndexFollower index(
      thb::MakeChannel(absl::GetFlag(FLAGS_cooperation), *outgoing), follower_options);
  index.Start();

  std::unique_ptr<thb::RedisPool> redis;
  if (const std::string address = absl::GetFlag(FLAGS_redis);
      !address.empty()) {
    thb::RedisOptions redis_options;
    redis_options.address = address;
    redis_options.pool_size = absl::GetFlag(FLAGS_redis_pool);
    redis_options.connect_timeout = absl::GetFlag(FLAGS_redis_timeout);
    redis_options.command_timeout = absl::GetFlag(FLAGS_redis_timeout);
    auto pool = thb::RedisPool::Create(redis_options);
    if (!pool.ok()) {
      THB_LOG(Error) << pool.status();
      return EXIT_FAILURE;
    }
    redis = std::move(*pool);
  }
  thb::aggregator::ResponseCacheOptions cache_options;
  cache_options.enabled = redis != nullptr;
  cache_options.ttl = absl::GetFlag(FLAGS_cache_ttl);
  thb::aggregator::ResponseCache cache(redis.get(), cache_options);

  thb::Executor executor(absl::GetFlag(FLAGS_query_threads));
  thb::aggregator::StatsService service(&index, &registry, &cache, &executor,
                                        absl::GetFlag(FLAGS_default_timeout));
  server.AddService(&service);
  thb::EchoService echo;
  if (absl::GetFlag(FLAGS_benchmark_echo)) server.AddService(&echo);
  if (auto status = server.Start(); !status.ok()) {
    THB_LOG(Error) << status;
    return EXIT_FAILURE;
  }
  THB_LOG(Info) << "listening on " << server.address()
                << "; NOT_SERVING until the index and the registry copy sync";

  // Readiness follows the first sync of both copies.
  std::atomic<bool> stopping{false};
  std::thread readiness([&] {
    while (!stopping) {
      const absl::Time soon = absl::Now() + absl::Milliseconds(200);
      if (index.WaitSynced(soon).ok() && registry.Snapshot(soon).ok()) {
        server.SetReady(thb::stats::v1::StatisticsService::service_full_name(),
                        true);
        THB_LOG(Info) << "serving thb.stats.v1.StatisticsService at "
                         "cooperation revision "
                      << index.revision();
        return;
      }
    }
  });

  server.Wait();
  stopping = true;
  readiness.join();
  index.Stop();
  registry.Stop();
  THB_LOG(Info) << "stopped";
  return EXIT_SUCCESS;
}
