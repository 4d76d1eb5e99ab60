// thb-aggregator: statistics over an in-memory index of the cooperation
// records, kept by list+watch, behind a shared Redis cache.

#include <atomic>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
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
#include "services/aggregator/cache_mac.h"
#include "services/aggregator/index_follower.h"
#include "services/aggregator/receive_limit.h"
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
ABSL_FLAG(std::string, redis_user, "",
          "ACL user to authenticate to Redis as (AUTH user password); empty "
          "sends AUTH password, for the default user.");
ABSL_FLAG(std::string, redis_password_file, "",
          "File holding the Redis password (one trailing newline dropped); "
          "required with --redis.");
ABSL_FLAG(std::string, cache_hmac_key_file, "",
          "File whose bytes (at least 32) are the HMAC-SHA256 key every "
          "cached value is sealed with, shared by the replicas; required "
          "with --redis.");
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

namespace {

// Secure by default: a Redis reached without a password is open to anyone
// who can reach it. This is the one Redis requirement --insecure may relax;
// the MAC below is required either way.
// A Redis without a password is for development only, like a plaintext
// port: --insecure says so.
absl::Status RequireRedisPassword() {
  if (absl::GetFlag(FLAGS_redis).empty() ||
      !absl::GetFlag(FLAGS_redis_password_file).empty() ||
      absl::GetFlag(FLAGS_insecure)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      "--redis_password_file is required with --redis (or --redis= to run "
      "without the cache, or --insecure for development on loopback)");
}

// Redis and the MAC that seals what goes into it: both, or neither when
// --redis is empty.
struct CacheBackend {
  std::unique_ptr<thb::RedisPool> redis;
  std::optional<thb::aggregator::CacheMac> mac;
};

absl::StatusOr<CacheBackend> MakeCacheBackend() {
  CacheBackend backend;
  const std::string address = absl::GetFlag(FLAGS_redis);
  if (address.empty()) return backend;
  // Anyone who can write to Redis could otherwise choose the answers.
  if (absl::GetFlag(FLAGS_cache_hmac_key_file).empty()) {
    return absl::InvalidArgumentError(
        "--cache_hmac_key_file is required with --redis (or --redis= to run "
        "without the cache)");
  }
  absl::StatusOr<thb::aggregator::CacheMac> mac =
      thb::aggregator::CacheMac::FromKeyFile(
          absl::GetFlag(FLAGS_cache_hmac_key_file));
  if (!mac.ok()) return mac.status();
  backend.mac.emplace(*std::move(mac));

  thb::RedisOptions options;
  options.address = address;
  options.user = absl::GetFlag(FLAGS_redis_user);
  if (const std::string path = absl::GetFlag(FLAGS_redis_password_file);
      !path.empty()) {
    absl::StatusOr<std::string> password = thb::ReadRedisPasswordFile(path);
    if (!password.ok()) return password.status();
    options.password = *std::move(password);
  }
  options.pool_size = absl::GetFlag(FLAGS_redis_pool);
  options.connect_timeout = absl::GetFlag(FLAGS_redis_timeout);
  options.command_timeout = absl::GetFlag(FLAGS_redis_timeout);
  absl::StatusOr<std::unique_ptr<thb::RedisPool>> pool =
      thb::RedisPool::Create(std::move(options));
  if (!pool.ok()) return pool.status();
  backend.redis = *std::move(pool);
  return backend;
}

}  // namespace

int main(int argc, char** argv) {
  thb::ParseFlagsWithEnvironment(
      argc, argv,
      thb::WithServerBindings(
          "AGGREGATOR", {{"registry", "THB_REGISTRY_ADDRESS"},
                         {"cooperation", "THB_COOPERATION_ADDRESS"},
                         {"redis", "THB_REDIS_ADDRESS"},
                         {"redis_user", "THB_REDIS_USER"},
                         {"redis_password_file", "THB_REDIS_PASSWORD_FILE"},
                         {"cache_hmac_key_file", "THB_CACHE_HMAC_KEY_FILE"},
                         {"cache_ttl", "THB_CACHE_TTL"},
                         {"redis_pool", "THB_REDIS_POOL"},
                         {"redis_timeout", "THB_REDIS_TIMEOUT"},
                         {"query_threads", "THB_AGGREGATOR_QUERY_THREADS"},
                         {"default_timeout", "THB_DEFAULT_TIMEOUT"}}),
      "The statistics service of thb.");
  thb::SetLogName("aggregator");

  if (absl::Status status = RequireRedisPassword(); !status.ok()) {
    THB_LOG(Error) << status.message();
    return EXIT_FAILURE;
  }
  absl::StatusOr<CacheBackend> cache_backend = MakeCacheBackend();
  if (!cache_backend.ok()) {
    THB_LOG(Error) << cache_backend.status().message();
    return EXIT_FAILURE;
  }

  thb::ServerOptions server_options = thb::ServerOptionsFromFlags();
  server_options.max_receive_message_bytes =
      thb::aggregator::kMaxReceiveMessageBytes;
  thb::Server server(std::move(server_options));
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
      thb::MakeChannel(absl::GetFlag(FLAGS_registry), *outgoing),
      mirror_options);
  registry.Start();

  thb::aggregator::IndexFollower::Options follower_options;
  follower_options.address = absl::GetFlag(FLAGS_cooperation);
  thb::aggregator::IndexFollower index(
      thb::MakeChannel(absl::GetFlag(FLAGS_cooperation), *outgoing),
      follower_options);
  index.Start();

  thb::aggregator::ResponseCacheOptions cache_options;
  cache_options.enabled = cache_backend->redis != nullptr;
  cache_options.ttl = absl::GetFlag(FLAGS_cache_ttl);
  thb::aggregator::ResponseCache cache(
      cache_backend->redis.get(),
      cache_backend->mac.has_value() ? &*cache_backend->mac : nullptr,
      cache_options);

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
