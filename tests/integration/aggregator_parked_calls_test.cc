// Calls that wait for a cooperation revision the aggregator has not seen
// yet hold no executor thread while they wait.

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "services/aggregator/stats_service.h"
#include "tests/integration/aggregator_suite.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::thb::testing::FilterQuery;
using ::thb::testing::In;
using ::thb::testing::ServerProcess;
using ::thb::testing::Statement;
namespace coop = ::thb::cooperation::v1;
namespace stats = ::thb::stats::v1;

// A cooperation service seen through this process: ListRecords passes
// through, Watch messages are held while the gate is closed. An aggregator
// that follows it lags the store for as long as the test wants, while it
// can still learn that the store has a revision.
class GatedCooperation final : public coop::CooperationRecordService::Service {
 public:
  explicit GatedCooperation(std::shared_ptr<grpc::Channel> upstream)
      : stub_(coop::CooperationRecordService::NewStub(std::move(upstream))) {}

  void Close() {
    absl::MutexLock lock(&mu_);
    open_ = false;
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  // Ends every Watch, so that the server can shut down.
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (grpc::ClientContext* context : upstream_) context->TryCancel();
  }

  grpc::Status ListRecords(grpc::ServerContext* context,
                           const coop::ListRecordsRequest* request,
                           coop::ListRecordsResponse* response) override {
    grpc::ClientContext upstream;
    upstream.set_deadline(context->deadline());
    return stub_->ListRecords(&upstream, *request, response);
  }

  grpc::Status Watch(grpc::ServerContext*, const coop::WatchRequest* request,
                     grpc::ServerWriter<coop::WatchResponse>* writer) override {
    grpc::ClientContext upstream;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "");
      upstream_.insert(&upstream);
    }
    auto reader = stub_->Watch(&upstream, *request);
    coop::WatchResponse response;
    while (reader->Read(&response)) {
      {
        absl::MutexLock lock(&mu_);
        auto pass = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return open_ || stopping_;
        };
        mu_.Await(absl::Condition(&pass));
        if (stopping_) break;
      }
      if (!writer->Write(response)) break;
    }
    upstream.TryCancel();
    const grpc::Status status = reader->Finish();
    absl::MutexLock lock(&mu_);
    upstream_.erase(&upstream);
    return status;
  }

 private:
  std::unique_ptr<coop::CooperationRecordService::Stub> stub_;
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::set<grpc::ClientContext*> upstream_ ABSL_GUARDED_BY(mu_);
};

// One CountCountries call in flight.
struct PendingCall {
  grpc::ClientContext context;
  stats::CountCountriesRequest request;
  stats::CountCountriesResponse response;
  grpc::Status status;
  absl::Notification done;
};

// An aggregator with kQueryThreads executor threads following the store
// through a GatedCooperation; plaintext on loopback, without Redis.
class ParkedCallsTest : public ::testing::Test {
 protected:
  static constexpr int kQueryThreads = 2;

  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("parked-calls");
    registry_ =
        std::make_unique<ServerProcess>(THB_REGISTRY_BIN, dir_, "registry",
                                        std::vector<std::string>{"--insecure"});
    ASSERT_TRUE(registry_->Start().ok());
    cooperation_ = std::make_unique<ServerProcess>(
        THB_COOPERATION_BIN, dir_, "cooperation",
        std::vector<std::string>{
            "--insecure", absl::StrCat("--registry=", registry_->address())});
    ASSERT_TRUE(cooperation_->Start().ok());
    cooperation_stub_ =
        coop::CooperationRecordService::NewStub(grpc::CreateChannel(
            cooperation_->address(), grpc::InsecureChannelCredentials()));
    gate_ = std::make_unique<GatedCooperation>(grpc::CreateChannel(
        cooperation_->address(), grpc::InsecureChannelCredentials()));
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(gate_.get());
    gate_server_ = builder.BuildAndStart();
    ASSERT_NE(gate_server_, nullptr);
    aggregator_ = std::make_unique<ServerProcess>(
        THB_AGGREGATOR_BIN, dir_, "aggregator",
        std::vector<std::string>{
            "--insecure", absl::StrCat("--registry=", registry_->address()),
            absl::StrCat("--cooperation=127.0.0.1:", port),
            "--redis=", absl::StrCat("--query_threads=", kQueryThreads),
            "--default_timeout=60s"},
        /*with_db=*/false);
    ASSERT_TRUE(aggregator_->Start().ok());
  }

  void TearDown() override {
    if (gate_ != nullptr) gate_->Stop();
    aggregator_.reset();
    if (gate_server_ != nullptr) {
      gate_server_->Shutdown(absl::ToChronoTime(absl::Now()));
    }
  }

  // A channel of its own connection: at most 100 calls at once go over one.
  std::shared_ptr<grpc::Channel> Connection() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(aggregator_->address(),
                                     grpc::InsecureChannelCredentials(), args);
  }

  // Writes a record directly to the store; its revision.
  int64_t Write(const std::string& id) {
    coop::CreateRecordRequest create;
    auto* record = create.mutable_record();
    record->set_id(id);
    record->set_reporting_country("NO");
    record->set_kind(coop::RECORD_KIND_AGREEMENT_EVALUATION);
    record->add_sources()->set_citation("Test");
    coop::CreateRecordResponse created;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(10)));
    const grpc::Status status =
        cooperation_stub_->CreateRecord(&context, create, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created.record().revision();
  }

  // Starts a CountCountries call that waits for `min_revision`.
  std::unique_ptr<PendingCall> Start(stats::StatisticsService::Stub& stub,
                                     int64_t min_revision,
                                     absl::Duration timeout) {
    auto call = std::make_unique<PendingCall>();
    *call->request.mutable_query() = FilterQuery(Statement(31).filter());
    call->request.set_as_of_date("2025-07-16");
    call->request.set_min_cooperation_revision(min_revision);
    call->context.set_deadline(In(timeout));
    PendingCall* raw = call.get();
    stub.async()->CountCountries(&raw->context, &raw->request, &raw->response,
                                 [raw](grpc::Status status) {
                                   raw->status = std::move(status);
                                   raw->done.Notify();
                                 });
    return call;
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> registry_;
  std::unique_ptr<ServerProcess> cooperation_;
  std::unique_ptr<coop::CooperationRecordService::Stub> cooperation_stub_;
  std::unique_ptr<GatedCooperation> gate_;
  std::unique_ptr<grpc::Server> gate_server_;
  std::unique_ptr<ServerProcess> aggregator_;
};

TEST_F(ParkedCallsTest, CallsWaitingForARevisionHoldNoThread) {
  constexpr int kMaxParked = aggregator::kMaxParkedCalls;
  static_assert(kMaxParked > 4 * kQueryThreads);
  auto plain = stats::StatisticsService::NewStub(Connection());
  {
    // Synced: a plain query answers.
    auto call = Start(*plain, 0, absl::Seconds(30));
    call->context.set_wait_for_ready(true);
    call->done.WaitForNotification();
    ASSERT_TRUE(call->status.ok()) << call->status.error_message();
  }

  // The store has the revision; the aggregator's index has not applied it.
  gate_->Close();
  const int64_t revision = Write("parked-no");
  ASSERT_GT(revision, 0);

  // Every parking place taken, over connections of up to 64 calls; one of
  // them gives up early.
  std::vector<std::unique_ptr<stats::StatisticsService::Stub>> stubs;
  std::vector<std::unique_ptr<PendingCall>> parked;
  const absl::Time start = absl::Now();
  auto short_call = Start(*plain, revision, absl::Seconds(4));
  for (int i = 0; i < kMaxParked - 1; ++i) {
    if (i % 64 == 0) {
      stubs.push_back(stats::StatisticsService::NewStub(Connection()));
    }
    parked.push_back(Start(*stubs.back(), revision, absl::Seconds(60)));
  }
  absl::SleepFor(absl::Seconds(1));

  // Far more calls than threads wait, and a plain query still answers at
  // once.
  {
    const absl::Time asked = absl::Now();
    auto call = Start(*plain, 0, absl::Seconds(5));
    call->done.WaitForNotification();
    EXPECT_TRUE(call->status.ok()) << call->status.error_message();
    EXPECT_LT(absl::Now() - asked, absl::Seconds(2));
  }
  // Beyond the bound, a call is refused at once, naming it.
  {
    auto call = Start(*plain, revision, absl::Seconds(30));
    call->done.WaitForNotification();
    EXPECT_EQ(call->status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << call->status.error_message();
    EXPECT_THAT(call->status.error_message(),
                HasSubstr(absl::StrCat(kMaxParked)));
  }
  // Calls cancelled by their clients leave their places.
  constexpr int kCancelled = 8;
  for (int i = 0; i < kCancelled; ++i) parked[i]->context.TryCancel();

  // The one that gives up early ends at its deadline, saying why.
  short_call->done.WaitForNotification();
  EXPECT_EQ(short_call->status.error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED)
      << short_call->status.error_message();
  EXPECT_THAT(short_call->status.error_message(),
              HasSubstr(absl::StrCat("min_cooperation_revision ", revision)));
  EXPECT_GT(absl::Now() - start, absl::Seconds(3));

  // Their places (the cancelled ones' and the expired one's) are free again.
  for (int i = 0; i <= kCancelled; ++i) {
    parked.push_back(Start(*plain, revision, absl::Seconds(60)));
  }
  absl::SleepFor(absl::Milliseconds(500));

  // The revision arrives: every waiting call answers at it.
  gate_->Open();
  for (size_t i = 0; i < parked.size(); ++i) {
    parked[i]->done.WaitForNotification();
    if (i < kCancelled) {
      EXPECT_EQ(parked[i]->status.error_code(), grpc::StatusCode::CANCELLED);
      continue;
    }
    EXPECT_TRUE(parked[i]->status.ok())
        << i << ": " << parked[i]->status.error_message();
    EXPECT_GE(parked[i]->response.as_of().cooperation_revision(), revision);
  }
}

}  // namespace
}  // namespace thb
