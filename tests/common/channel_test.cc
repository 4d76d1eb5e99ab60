#include "common/channel.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/server.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/common/test_services.h"
#include "tests/support/test_pki.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::AnyOf;
using testing::CallUnary;
using testing::FakeService;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGetCountry[] =
    "/thb.registry.v1.CountryRegistryService/GetCountry";
constexpr char kCreateCountry[] =
    "/thb.registry.v1.CountryRegistryService/CreateCountry";

ServerOptions TestServerOptions() {
  ServerOptions options;
  options.drain = absl::ZeroDuration();
  options.shutdown_grace = absl::Milliseconds(200);
  const testing::TestPki& pki = testing::TestPki::Get();
  options.security.tls = {pki.ca(), pki.cert("registry"), pki.key("registry")};
  options.security.auth.policy_file = pki.policy();
  return options;
}

// The channel options of a client with every right.
ChannelOptions Secure(ChannelOptions options = {}) {
  options.credentials =
      testing::TestPki::Get().ClientOptions("admin").credentials;
  return options;
}

// --- ChannelTarget ---------------------------------------------------------

TEST(ChannelTargetTest, SingleAddressesStayAsTheyAre) {
  EXPECT_EQ(ChannelTarget("a:1"), "a:1");
  EXPECT_EQ(ChannelTarget("registry.thb.svc.cluster.local:50051"),
            "registry.thb.svc.cluster.local:50051");
  EXPECT_EQ(ChannelTarget("dns:///registry-headless:50051"),
            "dns:///registry-headless:50051");
  EXPECT_EQ(ChannelTarget("localhost:1"), "localhost:1");
  EXPECT_EQ(ChannelTarget("127.0.0.1:50053"), "127.0.0.1:50053");
  EXPECT_EQ(ChannelTarget("[::1]:50053"), "[::1]:50053");
}

TEST(ChannelTargetTest, Ipv4ListBecomesOneStaticTarget) {
  EXPECT_EQ(ChannelTarget("127.0.0.1:50053,127.0.0.1:50063"),
            "ipv4:127.0.0.1:50053,127.0.0.1:50063");
  EXPECT_EQ(ChannelTarget(" 10.0.0.1:1 , 10.0.0.2:2 ,"),
            "ipv4:10.0.0.1:1,10.0.0.2:2");
}

TEST(ChannelTargetTest, Ipv6ListBecomesOneStaticTarget) {
  EXPECT_EQ(ChannelTarget("[::1]:50053,[fe80::1]:50063"),
            "ipv6:[::1]:50053,[fe80::1]:50063");
}

TEST(ChannelTargetTest, LocalhostInAListIsLoopback) {
  EXPECT_EQ(ChannelTarget("localhost:1,localhost:2"),
            "ipv4:127.0.0.1:1,127.0.0.1:2");
  EXPECT_EQ(ChannelTarget("localhost:1,10.1.2.3:2"),
            "ipv4:127.0.0.1:1,10.1.2.3:2");
}

TEST(ChannelTargetTest, ListsWithoutAStaticFormAreLeftForGrpcToRefuse) {
  EXPECT_EQ(ChannelTarget("a:1,b:2"), "a:1,b:2");
  EXPECT_EQ(ChannelTarget("127.0.0.1:1,[::1]:2"), "127.0.0.1:1,[::1]:2");
  EXPECT_EQ(ChannelTarget("127.0.0.1:0,127.0.0.1:2"),
            "127.0.0.1:0,127.0.0.1:2");
  EXPECT_EQ(ChannelTarget("127.0.0.1:99999,127.0.0.1:2"),
            "127.0.0.1:99999,127.0.0.1:2");
  EXPECT_EQ(ChannelTarget("127.0.0.1,127.0.0.2"), "127.0.0.1,127.0.0.2");
}

// Found by the address fuzzer: the address parser stopped at a NUL byte, so
// "[::10<NUL> 02]:35" passed as the literal [::10]:35 and the static target
// carried the NUL and the space after it.
TEST(ChannelTargetTest, AnAddressWithANulByteIsNoLiteral) {
  const std::string with_nul("[::10\0 02]:35,[::1]:50063", 25);
  EXPECT_EQ(ChannelTarget(with_nul), with_nul);
  const std::string ipv4_with_nul("127.0.0.1\0x:1,127.0.0.1:2", 25);
  EXPECT_EQ(ChannelTarget(ipv4_with_nul), ipv4_with_nul);
}

// --- ServiceConfigJson -----------------------------------------------------

google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct parsed;
  const auto status =
      google::protobuf::util::JsonStringToMessage(json, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return parsed;
}

TEST(ServiceConfigTest, IsJsonWithRoundRobin) {
  const google::protobuf::Struct config = ParseJson(ServiceConfigJson({}));
  const auto& policies = config.fields().at("loadBalancingConfig").list_value();
  ASSERT_EQ(policies.values_size(), 1);
  EXPECT_TRUE(
      policies.values(0).struct_value().fields().contains("round_robin"));
  // Liveness goes NOT_SERVING first when a server stops: round_robin then
  // leaves it before it refuses calls.
  EXPECT_EQ(config.fields()
                .at("healthCheckConfig")
                .struct_value()
                .fields()
                .at("serviceName")
                .string_value(),
            "");
}

TEST(ServiceConfigTest, RetriesOnlyTheReads) {
  ChannelOptions options;
  options.max_read_attempts = 3;
  options.initial_backoff = absl::Milliseconds(50);
  options.max_backoff = absl::Seconds(1);
  const std::string json = ServiceConfigJson(options);
  const google::protobuf::Struct config = ParseJson(json);
  const auto& method_configs = config.fields().at("methodConfig").list_value();
  ASSERT_EQ(method_configs.values_size(), 1);
  const auto& method_config = method_configs.values(0).struct_value().fields();

  std::vector<std::string> names;
  for (const auto& name : method_config.at("name").list_value().values()) {
    const auto& fields = name.struct_value().fields();
    std::string full = fields.at("service").string_value();
    if (fields.contains("method")) {
      full += "/" + fields.at("method").string_value();
    }
    names.push_back(full);
  }
  EXPECT_THAT(
      names,
      ::testing::UnorderedElementsAre(
          "thb.registry.v1.CountryRegistryService/GetCountry",
          "thb.registry.v1.CountryRegistryService/BatchGetCountries",
          "thb.registry.v1.CountryRegistryService/ListCountries",
          "thb.registry.v1.CountryRegistryService/GetRegion",
          "thb.registry.v1.CountryRegistryService/ListRegions",
          "thb.registry.v1.CountryRegistryService/GetOrganisation",
          "thb.registry.v1.CountryRegistryService/ListOrganisations",
          "thb.cooperation.v1.CooperationRecordService/GetRecord",
          "thb.cooperation.v1.CooperationRecordService/ListRecords",
          "thb.stats.v1.StatisticsService", "grpc.health.v1.Health/Check"));

  const auto& retry = method_config.at("retryPolicy").struct_value().fields();
  EXPECT_EQ(retry.at("maxAttempts").number_value(), 3);
  EXPECT_EQ(retry.at("initialBackoff").string_value(), "0.05s");
  EXPECT_EQ(retry.at("maxBackoff").string_value(), "1s");
  EXPECT_EQ(retry.at("backoffMultiplier").number_value(), 2);
  const auto& codes = retry.at("retryableStatusCodes").list_value();
  ASSERT_EQ(codes.values_size(), 1);
  EXPECT_EQ(codes.values(0).string_value(), "UNAVAILABLE");
}

TEST(ServiceConfigTest, AttemptsAreCappedAtFive) {
  ChannelOptions options;
  options.max_read_attempts = 9;
  const google::protobuf::Struct config = ParseJson(ServiceConfigJson(options));
  EXPECT_EQ(config.fields()
                .at("methodConfig")
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("retryPolicy")
                .struct_value()
                .fields()
                .at("maxAttempts")
                .number_value(),
            5);
}

TEST(ServiceConfigTest, OneAttemptMeansNoRetryPolicy) {
  ChannelOptions options;
  options.max_read_attempts = 1;
  const std::string json = ServiceConfigJson(options);
  ParseJson(json);
  EXPECT_THAT(json, Not(HasSubstr("retryPolicy")));
  EXPECT_THAT(json, HasSubstr("round_robin"));
}

// --- MakeChannel against real servers -------------------------------------

// Counts the calls per method, and fails the first `failures` of each with
// UNAVAILABLE, as a replica that is restarting would.
class FlakyBackend {
 public:
  explicit FlakyBackend(int failures)
      : failures_(failures),
        service_([this](grpc::GenericCallbackServerContext* context,
                        FakeService::Finish finish) {
          int seen = 0;
          {
            absl::MutexLock lock(&mu_);
            seen = ++calls_[context->method()];
          }
          finish(seen <= failures_
                     ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting")
                     : grpc::Status::OK);
        }),
        server_(TestServerOptions()) {
    server_.AddService(&service_);
    EXPECT_TRUE(server_.Start().ok());
  }

  int calls(const std::string& method) {
    absl::MutexLock lock(&mu_);
    return calls_[method];
  }
  std::string address() const { return server_.address(); }

 private:
  const int failures_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> calls_ ABSL_GUARDED_BY(mu_);
  FakeService service_;
  Server server_;
};

TEST(MakeChannelTest, WorksWithItsServiceConfig) {
  FlakyBackend backend(/*failures=*/0);
  // The same replica twice: a list target, resolved statically.
  auto channel =
      MakeChannel(backend.address() + "," + backend.address(), Secure());
  auto context = MakeClientContext(absl::Seconds(5));
  const grpc::Status status = CallUnary(channel, context.get(), kGetCountry);
  EXPECT_TRUE(status.ok()) << status.error_message();

  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  auto health_context = MakeClientContext(absl::Seconds(5));
  EXPECT_TRUE(grpc::health::v1::Health::NewStub(channel)
                  ->Check(health_context.get(), request, &response)
                  .ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST(MakeChannelTest, RetriesReadsOnUnavailable) {
  FlakyBackend backend(/*failures=*/2);
  ChannelOptions options;
  options.max_read_attempts = 4;
  options.initial_backoff = absl::Milliseconds(10);
  options.max_backoff = absl::Milliseconds(20);
  auto channel = MakeChannel(backend.address(), Secure(options));

  auto context = MakeClientContext(absl::Seconds(10));
  const grpc::Status status = CallUnary(channel, context.get(), kGetCountry);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(backend.calls(kGetCountry), 3);

  auto stats_context = MakeClientContext(absl::Seconds(10));
  EXPECT_TRUE(CallUnary(channel, stats_context.get(),
                        "/thb.stats.v1.StatisticsService/Breakdown")
                  .ok());
  EXPECT_EQ(backend.calls("/thb.stats.v1.StatisticsService/Breakdown"), 3);
}

TEST(MakeChannelTest, NeverRetriesWrites) {
  FlakyBackend backend(/*failures=*/2);
  auto channel = MakeChannel(backend.address(), Secure());
  auto context = MakeClientContext(absl::Seconds(10));
  EXPECT_EQ(CallUnary(channel, context.get(), kCreateCountry).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(backend.calls(kCreateCountry), 1);
}

TEST(MakeChannelTest, OneAttemptMeansNoRetry) {
  FlakyBackend backend(/*failures=*/2);
  ChannelOptions options;
  options.max_read_attempts = 1;
  auto channel = MakeChannel(backend.address(), Secure(options));
  auto context = MakeClientContext(absl::Seconds(10));
  EXPECT_EQ(CallUnary(channel, context.get(), kGetCountry).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(backend.calls(kGetCountry), 1);
}

TEST(MakeChannelTest, RoundRobinSpreadsOverTheList) {
  FlakyBackend first(/*failures=*/0);
  FlakyBackend second(/*failures=*/0);
  auto channel =
      MakeChannel(first.address() + "," + second.address(), Secure());
  // round_robin picks among the connected replicas, and the second may
  // connect a little later than the first: call until both served some.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  int calls = 0;
  while ((first.calls(kGetCountry) == 0 || second.calls(kGetCountry) == 0) &&
         absl::Now() < give_up) {
    auto context = MakeClientContext(absl::Seconds(5));
    ASSERT_TRUE(CallUnary(channel, context.get(), kGetCountry).ok());
    ++calls;
  }
  EXPECT_GT(first.calls(kGetCountry), 0);
  EXPECT_GT(second.calls(kGetCountry), 0);
  // Once both are connected, calls alternate.
  for (int i = 0; i < 10; ++i) {
    auto context = MakeClientContext(absl::Seconds(5));
    ASSERT_TRUE(CallUnary(channel, context.get(), kGetCountry).ok());
  }
  EXPECT_EQ(first.calls(kGetCountry) + second.calls(kGetCountry), calls + 10);
  EXPECT_LE(std::abs(first.calls(kGetCountry) - second.calls(kGetCountry)),
            calls + 1);
}

// --- Deadlines -------------------------------------------------------------

TEST(ClientContextTest, DeadlineIsNowPlusTimeout) {
  const absl::Time before = absl::Now();
  auto context = MakeClientContext(absl::Milliseconds(1500));
  const absl::Time deadline = absl::FromChrono(context->deadline());
  EXPECT_GE(deadline, before + absl::Milliseconds(1500));
  EXPECT_LE(deadline, absl::Now() + absl::Milliseconds(1500));
}

// Answers nothing until the caller gives up, and counts those cancellations.
class HangingBackend {
 public:
  HangingBackend()
      : service_([this](grpc::GenericCallbackServerContext*,
                        FakeService::Finish) { calls_.fetch_add(1); }),
        server_(TestServerOptions()) {
    server_.AddService(&service_);
    EXPECT_TRUE(server_.Start().ok());
  }
  std::string address() const { return server_.address(); }
  int calls() const { return calls_.load(); }

 private:
  std::atomic<int> calls_{0};
  FakeService service_;
  Server server_;
};

// What the front saw of its outgoing call.
struct ChildCall {
  absl::Mutex mu;
  absl::Time parent_deadline;
  absl::Time child_deadline;
  grpc::Status status;
  absl::Duration took;
  absl::Notification done;
};

// A front service that serves each call by calling the hanging backend with
// MakeChildContext(max_timeout), then relays the outcome.
class Front {
 public:
  Front(const std::string& backend, absl::Duration max_timeout)
      : channel_(MakeChannel(backend, Secure())),
        service_(
            [this, max_timeout](grpc::GenericCallbackServerContext* context,
                                FakeService::Finish finish) {
              struct Outgoing {
                std::unique_ptr<grpc::ClientContext> context;
                grpc::ByteBuffer request;
                grpc::ByteBuffer response;
                absl::Time start;
              };
              auto outgoing = std::make_shared<Outgoing>();
              outgoing->context = MakeChildContext(context, max_timeout);
              outgoing->start = absl::Now();
              {
                absl::MutexLock lock(&child_.mu);
                child_.parent_deadline = absl::FromChrono(context->deadline());
                child_.child_deadline =
                    absl::FromChrono(outgoing->context->deadline());
              }
              grpc::Slice slice("request");
              outgoing->request = grpc::ByteBuffer(&slice, 1);
              stub_.UnaryCall(
                  outgoing->context.get(), "/thb.test.Back/Hang",
                  grpc::StubOptions(), &outgoing->request, &outgoing->response,
                  [this, outgoing, finish](grpc::Status status) {
                    {
                      absl::MutexLock lock(&child_.mu);
                      child_.status = status;
                      child_.took = absl::Now() - outgoing->start;
                    }
                    child_.done.Notify();
                    finish(grpc::Status(status.error_code(),
                                        "backend: " + status.error_message()));
                  });
            }),
        stub_(channel_),
        server_(TestServerOptions()) {
    server_.AddService(&service_);
    EXPECT_TRUE(server_.Start().ok());
  }

  std::string address() const { return server_.address(); }
  ChildCall& child() { return child_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  ChildCall child_;
  FakeService service_;
  grpc::GenericStub stub_;
  Server server_;
};

TEST(MakeChildContextTest, CallbackChildInheritsTheShortParentDeadline) {
  HangingBackend backend;
  Front front(backend.address(), /*max_timeout=*/absl::Seconds(30));
  auto context = MakeClientContext(absl::Milliseconds(300));
  const absl::Time start = absl::Now();
  const grpc::Status status = CallUnary(MakeChannel(front.address(), Secure()),
                                        context.get(), "/thb.test.Front/Call");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);

  ChildCall& child = front.child();
  ASSERT_TRUE(child.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::MutexLock lock(&child.mu);
  // The backend call ended with the client's 300 ms, not the front's 30 s:
  // by its own propagated deadline or by the cancellation of its parent,
  // whichever gRPC saw first.
  EXPECT_THAT(
      child.status.error_code(),
      AnyOf(grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::CANCELLED));
  EXPECT_LT(child.took, absl::Seconds(3));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_LE(child.child_deadline,
            child.parent_deadline + absl::Microseconds(1));
  EXPECT_EQ(backend.calls(), 1);
}

TEST(MakeChildContextTest, CallbackChildIsCappedByMaxTimeout) {
  HangingBackend backend;
  Front front(backend.address(), /*max_timeout=*/absl::Milliseconds(200));
  auto context = MakeClientContext(absl::Seconds(30));
  const grpc::Status status = CallUnary(MakeChannel(front.address(), Secure()),
                                        context.get(), "/thb.test.Front/Call");
  // The front relays the backend's timeout long before the client's own.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(status.error_message(), HasSubstr("backend: "));

  ChildCall& child = front.child();
  ASSERT_TRUE(child.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::MutexLock lock(&child.mu);
  EXPECT_LT(child.took, absl::Seconds(3));
  EXPECT_LT(child.child_deadline, child.parent_deadline - absl::Seconds(20));
}

// The synchronous flavour: a plain ServerContext.
class DeadlineRecordingRegistry
    : public registry::v1::CountryRegistryService::Service {
 public:
  explicit DeadlineRecordingRegistry(absl::Duration max_timeout)
      : max_timeout_(max_timeout) {}

  grpc::Status GetCountry(grpc::ServerContext* context,
                          const registry::v1::GetCountryRequest*,
                          registry::v1::GetCountryResponse*) override {
    auto child = MakeChildContext(context, max_timeout_);
    absl::MutexLock lock(&mu_);
    parent_deadline_ = absl::FromChrono(context->deadline());
    child_deadline_ = absl::FromChrono(child->deadline());
    handled_at_ = absl::Now();
    return grpc::Status::OK;
  }

  absl::Mutex mu_;
  absl::Time parent_deadline_ ABSL_GUARDED_BY(mu_);
  absl::Time child_deadline_ ABSL_GUARDED_BY(mu_);
  absl::Time handled_at_ ABSL_GUARDED_BY(mu_);

 private:
  const absl::Duration max_timeout_;
};

void CallGetCountry(const Server& server, grpc::ClientContext* context) {
  auto stub = registry::v1::CountryRegistryService::NewStub(
      MakeChannel(server.address(), Secure()));
  registry::v1::GetCountryRequest request;
  registry::v1::GetCountryResponse response;
  const grpc::Status status = stub->GetCountry(context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

TEST(MakeChildContextTest, SyncChildKeepsTheEarlierParentDeadline) {
  DeadlineRecordingRegistry service(/*max_timeout=*/absl::Seconds(60));
  Server server(TestServerOptions());
  server.AddService(&service);
  ASSERT_TRUE(server.Start().ok());
  auto context = MakeClientContext(absl::Seconds(5));
  CallGetCountry(server, context.get());
  absl::MutexLock lock(&service.mu_);
  // Equal but for the rounding of gRPC's own time type.
  EXPECT_LT(
      absl::AbsDuration(service.child_deadline_ - service.parent_deadline_),
      absl::Microseconds(1));
  EXPECT_LT(service.child_deadline_, service.handled_at_ + absl::Seconds(6));
}

TEST(MakeChildContextTest, SyncChildIsCappedByMaxTimeout) {
  DeadlineRecordingRegistry service(/*max_timeout=*/absl::Milliseconds(100));
  Server server(TestServerOptions());
  server.AddService(&service);
  ASSERT_TRUE(server.Start().ok());
  auto context = MakeClientContext(absl::Seconds(5));
  CallGetCountry(server, context.get());
  absl::MutexLock lock(&service.mu_);
  EXPECT_LT(service.child_deadline_, service.parent_deadline_);
  EXPECT_LE(service.child_deadline_,
            service.handled_at_ + absl::Milliseconds(100));
  EXPECT_GT(service.child_deadline_, service.handled_at_);
}

TEST(MakeChildContextTest, NoParentDeadlineMeansMaxTimeout) {
  DeadlineRecordingRegistry service(/*max_timeout=*/absl::Seconds(2));
  Server server(TestServerOptions());
  server.AddService(&service);
  ASSERT_TRUE(server.Start().ok());
  grpc::ClientContext context;  // No deadline at all.
  CallGetCountry(server, &context);
  absl::MutexLock lock(&service.mu_);
  EXPECT_GT(service.parent_deadline_, absl::Now() + absl::Hours(24 * 365));
  EXPECT_LE(service.child_deadline_, service.handled_at_ + absl::Seconds(2));
  EXPECT_GT(service.child_deadline_, service.handled_at_ + absl::Seconds(1));
}

}  // namespace
}  // namespace thb
