#include "common/server.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/common/test_services.h"
#include "tests/support/test_pki.h"

namespace thb {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

constexpr char kReadiness[] = "thb.registry.v1.CountryRegistryService";

ServerOptions FastOptions() {
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.drain = absl::ZeroDuration();
  options.shutdown_grace = absl::Seconds(1);
  const testing::TestPki& pki = testing::TestPki::Get();
  options.security.tls = {pki.ca(), pki.cert("registry"), pki.key("registry")};
  options.security.auth.policy_file = pki.policy();
  return options;
}

std::shared_ptr<grpc::Channel> ChannelTo(const Server& server) {
  return grpc::CreateChannel(
      server.address(),
      testing::TestPki::Get().ClientOptions("admin").credentials);
}

// "SERVING", "NOT_SERVING", or the code of the failed Check ("UNAVAILABLE").
std::string HealthOf(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& service) {
  auto stub = Health::NewStub(channel);
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  auto context = MakeClientContext(absl::Seconds(5));
  const grpc::Status status = stub->Check(context.get(), request, &response);
  if (!status.ok()) {
    return absl::StatusCodeToString(
        static_cast<absl::StatusCode>(status.error_code()));
  }
  return HealthCheckResponse::ServingStatus_Name(response.status());
}

TEST(ServerTest, LivenessServesAtOnceAndReadinessWaits) {
  Server server(FastOptions());
  server.SetReady(kReadiness, false);
  ASSERT_TRUE(server.Start().ok());
  EXPECT_GT(server.port(), 0);
  EXPECT_EQ(server.address(), "127.0.0.1:" + std::to_string(server.port()));

  auto channel = ChannelTo(server);
  EXPECT_EQ(HealthOf(channel, ""), "SERVING");
  EXPECT_EQ(HealthOf(channel, kReadiness), "NOT_SERVING");

  server.SetReady(kReadiness, true);
  EXPECT_EQ(HealthOf(channel, kReadiness), "SERVING");
  // Readiness of one name leaves the others alone.
  server.SetReady("thb.cooperation.v1.CooperationRecordService", false);
  EXPECT_EQ(HealthOf(channel, kReadiness), "SERVING");
  EXPECT_EQ(HealthOf(channel, "thb.cooperation.v1.CooperationRecordService"),
            "NOT_SERVING");
  EXPECT_EQ(HealthOf(channel, ""), "SERVING");

  server.SetReady(kReadiness, false);
  EXPECT_EQ(HealthOf(channel, kReadiness), "NOT_SERVING");

  EXPECT_EQ(HealthOf(channel, "no.such.Service"), "NOT_FOUND");
  server.Stop();
}

TEST(ServerTest, ReadyBeforeStartIsServingAfterStart) {
  Server server(FastOptions());
  server.SetReady(kReadiness, true);
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(HealthOf(ChannelTo(server), kReadiness), "SERVING");
}

TEST(ServerTest, StopDrainsNotServingThenShutsDown) {
  ServerOptions options = FastOptions();
  options.drain = absl::Milliseconds(1500);
  Server server(options);
  server.SetReady(kReadiness, true);
  ASSERT_TRUE(server.Start().ok());
  auto channel = ChannelTo(server);
  ASSERT_EQ(HealthOf(channel, ""), "SERVING");

  std::thread stopper([&server] { server.Stop(); });
  // During the drain the server still answers, but says NOT_SERVING
  // everywhere, liveness included.
  std::string live;
  const absl::Time give_up = absl::Now() + absl::Seconds(1);
  do {
    live = HealthOf(channel, "");
  } while (live == "SERVING" && absl::Now() < give_up);
  EXPECT_EQ(live, "NOT_SERVING");
  EXPECT_EQ(HealthOf(channel, kReadiness), "NOT_SERVING");
  // Readiness cannot come back while stopping.
  server.SetReady(kReadiness, true);
  EXPECT_EQ(HealthOf(channel, kReadiness), "NOT_SERVING");

  server.Wait();
  stopper.join();
  EXPECT_EQ(HealthOf(channel, ""), "UNAVAILABLE");

  // Idempotent, and quick the second time.
  const absl::Time before = absl::Now();
  server.Stop();
  server.Wait();
  EXPECT_LT(absl::Now() - before, absl::Milliseconds(500));
}

TEST(ServerTest, ConcurrentStopsAllReturnAfterTheStop) {
  ServerOptions options = FastOptions();
  options.drain = absl::Milliseconds(300);
  Server server(options);
  ASSERT_TRUE(server.Start().ok());
  auto channel = ChannelTo(server);
  std::thread first([&server] { server.Stop(); });
  std::thread second([&server] { server.Stop(); });
  first.join();
  second.join();
  EXPECT_EQ(HealthOf(channel, ""), "UNAVAILABLE");
}

TEST(ServerTest, StartAfterStopFails) {
  Server server(FastOptions());
  server.Stop();
  server.Wait();
  EXPECT_EQ(server.Start().code(), absl::StatusCode::kCancelled);
}

TEST(ServerTest, DestructorStopsARunningServer) {
  std::shared_ptr<grpc::Channel> channel;
  {
    Server server(FastOptions());
    ASSERT_TRUE(server.Start().ok());
    channel = ChannelTo(server);
    ASSERT_EQ(HealthOf(channel, ""), "SERVING");
  }
  EXPECT_EQ(HealthOf(channel, ""), "UNAVAILABLE");
}

TEST(ServerTest, TakenPortIsUnavailableNamingTheAddress) {
  Server first(FastOptions());
  ASSERT_TRUE(first.Start().ok());
  ServerOptions options = FastOptions();
  options.port = first.port();
  Server second(options);
  const absl::Status status = second.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("127.0.0.1:" + std::to_string(first.port())));
}

TEST(ServerTest, ForeignAddressIsUnavailable) {
  ServerOptions options = FastOptions();
  options.host = "192.0.2.1";  // TEST-NET-1: never an address of this host.
  Server server(options);
  const absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("192.0.2.1:0"));
}

TEST(ServerTest, ListensOnIpv6) {
  if (access("/proc/net/if_inet6", R_OK) != 0) {
    GTEST_SKIP() << "no IPv6 on this host";
  }
  ServerOptions options = FastOptions();
  options.host = "::1";
  Server server(options);
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(server.address(), "[::1]:" + std::to_string(server.port()));
  EXPECT_EQ(HealthOf(ChannelTo(server), ""), "SERVING");
}

TEST(ServerTest, ServesRegisteredServices) {
  testing::FakeService echo(
      [](grpc::GenericCallbackServerContext*,
         testing::FakeService::Finish finish) { finish(grpc::Status::OK); });
  Server server(FastOptions());
  server.AddService(&echo);
  ASSERT_TRUE(server.Start().ok());
  auto context = MakeClientContext(absl::Seconds(5));
  EXPECT_TRUE(
      testing::CallUnary(ChannelTo(server), context.get(), "/thb.test.Echo/Say")
          .ok());
}

// Reflection lists the services: one ServerReflectionRequest{list_services}
// in the wire format, so the test needs no reflection stubs.
class ListServicesCall
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  ListServicesCall(grpc::GenericStub* stub, grpc::ClientContext* context) {
    // Field 7 (list_services), length-delimited, "*".
    const char request[] = {0x3a, 0x01, '*'};
    grpc::Slice slice(request, sizeof(request));
    request_ = grpc::ByteBuffer(&slice, 1);
    stub->PrepareBidiStreamingCall(
        context,
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        grpc::StubOptions(), this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
  }
  void OnWriteDone(bool) override { StartWritesDone(); }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::vector<grpc::Slice> slices;
    if (!response_.Dump(&slices).ok()) return;
    for (const grpc::Slice& slice : slices) {
      text_.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }
  std::string Wait() {
    done_.WaitForNotification();
    EXPECT_TRUE(status_.ok()) << status_.error_message();
    return text_;
  }
  void WaitForStatus() { done_.WaitForNotification(); }
  const grpc::Status& status() const { return status_; }

 private:
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::string text_;
  grpc::Status status_;
  absl::Notification done_;
};

// One connection carries at most max_concurrent_streams calls at a time;
// the client holds the others until one ends.
TEST(ServerTest, ConcurrentStreamsPerConnectionAreBounded) {
  constexpr int kStreams = 2;
  absl::Mutex mu;
  int running = 0;
  int most = 0;
  absl::Notification release;
  testing::FakeService slow([&](grpc::GenericCallbackServerContext*,
                                testing::FakeService::Finish finish) {
    {
      absl::MutexLock lock(&mu);
      most = std::max(most, ++running);
    }
    std::thread([&, finish] {
      release.WaitForNotificationWithTimeout(absl::Seconds(10));
      {
        absl::MutexLock lock(&mu);
        --running;
      }
      finish(grpc::Status::OK);
    }).detach();
  });
  ServerOptions options = FastOptions();
  options.max_concurrent_streams = kStreams;
  Server server(options);
  server.AddService(&slow);
  ASSERT_TRUE(server.Start().ok());
  auto channel = ChannelTo(server);
  // The connection is up, and its settings known, before the calls.
  ASSERT_EQ(HealthOf(channel, ""), "SERVING");
  std::vector<std::thread> calls;
  std::atomic<int> ok{0};
  for (int i = 0; i < 2 * kStreams; ++i) {
    calls.emplace_back([&] {
      auto context = MakeClientContext(absl::Seconds(10));
      if (testing::CallUnary(channel, context.get(), "/thb.test.Slow/Call")
              .ok()) {
        ok.fetch_add(1);
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(500));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(running, kStreams);
  }
  release.Notify();
  for (std::thread& call : calls) call.join();
  EXPECT_EQ(ok.load(), 2 * kStreams);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(most, kStreams);
}

TEST(ServerTest, DefaultsBoundStreamsAndMemory) {
  const ServerOptions options;
  EXPECT_GT(options.max_concurrent_streams, 0);
  EXPECT_GT(options.resource_quota_bytes, 0);
  EXPECT_GT(options.max_threads, 0);
}

TEST(ServerTest, ReflectionListsTheHealthService) {
  Server server(FastOptions());
  ASSERT_TRUE(server.Start().ok());
  grpc::GenericStub stub(ChannelTo(server));
  auto context = MakeClientContext(absl::Seconds(5));
  ListServicesCall call(&stub, context.get());
  EXPECT_THAT(call.Wait(), HasSubstr("grpc.health.v1.Health"));
}

TEST(ServerTest, SigtermStopsTheServer) {
  ServerOptions options = FastOptions();
  options.drain = absl::Milliseconds(200);
  Server server(options);
  InstallSignalHandlers(&server);
  ASSERT_TRUE(server.Start().ok());
  auto channel = ChannelTo(server);
  ASSERT_EQ(HealthOf(channel, ""), "SERVING");

  // To the process, as an orchestrator sends it: any thread may take it.
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  server.Wait();
  EXPECT_EQ(HealthOf(channel, ""), "UNAVAILABLE");
}

// --- Security of the runner ---------------------------------------------

std::shared_ptr<grpc::Channel> PlaintextTo(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                             grpc::InsecureChannelCredentials());
}

TEST(ServerSecurityTest, HealthPortAnswersPlaintextAndMirrorsReadiness) {
  ServerOptions options = FastOptions();
  options.health_port = 0;
  Server server(options);
  server.SetReady(kReadiness, false);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_GT(server.health_port(), 0);
  ASSERT_NE(server.health_port(), server.port());
  auto health = PlaintextTo(server.health_port());
  EXPECT_EQ(HealthOf(health, ""), "SERVING");
  EXPECT_EQ(HealthOf(health, kReadiness), "NOT_SERVING");
  server.SetReady(kReadiness, true);
  EXPECT_EQ(HealthOf(health, kReadiness), "SERVING");
  server.Stop();
  EXPECT_NE(HealthOf(health, ""), "SERVING");
}

TEST(ServerSecurityTest, HealthPortServesNothingButHealth) {
  testing::FakeService echo(
      [](grpc::GenericCallbackServerContext*,
         testing::FakeService::Finish finish) { finish(grpc::Status::OK); });
  ServerOptions options = FastOptions();
  options.health_port = 0;
  Server server(options);
  server.AddService(&echo);
  ASSERT_TRUE(server.Start().ok());
  auto health = PlaintextTo(server.health_port());
  auto context = MakeClientContext(absl::Seconds(5));
  EXPECT_EQ(testing::CallUnary(health, context.get(), "/thb.test.Echo/Say")
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  grpc::GenericStub stub(health);
  auto reflection_context = MakeClientContext(absl::Seconds(5));
  ListServicesCall call(&stub, reflection_context.get());
  call.WaitForStatus();
  EXPECT_EQ(call.status().error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST(ServerSecurityTest, MainPortRefusesPlaintext) {
  Server server(FastOptions());
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(HealthOf(PlaintextTo(server.port()), ""), "UNAVAILABLE");
}

TEST(ServerSecurityTest, WithoutTlsFilesItRefusesToStartUnlessInsecure) {
  ServerOptions options = FastOptions();
  options.security.tls = {};
  Server server(options);
  const absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("--tls_ca"));
  EXPECT_THAT(status.message(), HasSubstr("--insecure"));
}

TEST(ServerSecurityTest, WithoutAPolicyItRefusesToStart) {
  ServerOptions options = FastOptions();
  options.security.auth.policy_file.clear();
  Server server(options);
  const absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("--authz_policy"));
}

TEST(ServerSecurityTest, InsecureServesPlaintextOnLoopbackOnly) {
  ServerOptions options = FastOptions();
  options.security.insecure = true;
  Server server(options);
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(HealthOf(PlaintextTo(server.port()), ""), "SERVING");

  options.host = "0.0.0.0";
  Server exposed(options);
  const absl::Status status = exposed.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("loopback"));
}

TEST(ServerSecurityTest, LoopbackHostsAreKnown) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.3.2.1"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("[::1]"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("::"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("thb-registry"));
  // The address parser stops at a NUL byte; the host does not.
  EXPECT_FALSE(IsLoopbackHost(std::string("127.0.0.1\0.example", 18)));
  EXPECT_FALSE(IsLoopbackHost(std::string("[::1\0x]", 7)));
}

}  // namespace
}  // namespace thb
