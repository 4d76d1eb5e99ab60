// What followers of the registry rely on: pages and watch batches bounded
// by bytes, the store's incarnation, OUT_OF_RANGE for a watch that cannot
// resume, bounded Watch streams, and writes that never wait for watchers.
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/message_budget.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "services/registry/reference_data.h"
#include "services/registry/registry_core.h"
#include "services/registry/registry_service.h"
#include "services/registry/sqlite_registry_store.h"
#include "tests/support/process.h"

namespace thb::registry {
namespace {

using ::testing::MatchesRegex;

const ReferenceData& Reference() {
  static const auto* data = [] {
    auto loaded = LoadReferenceData(kDefaultIsoCodesPath);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new ReferenceData(std::move(*loaded));
  }();
  return *data;
}

audit::Invocation Admin() {
  return {{"spiffe://thb/admin/dev", "ipv4:127.0.0.1:50000"},
          "/thb.registry.v1.CountryRegistryService/Test"};
}

class RegistryFollowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("registry_follow");
    path_ = dir_ + "/registry.sqlite3";
  }

  void Open(CoreOptions options = {}) {
    core_.reset();
    auto store = SqliteRegistryStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto core = RegistryCore::Open(std::move(*store), Reference(), options);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }

  void CreateOrganisation(const std::string& id, size_t url_length = 10) {
    v1::CreateOrganisationRequest request;
    request.mutable_organisation()->set_id(id);
    request.mutable_organisation()->set_name("Organisation " + id);
    request.mutable_organisation()->set_kind(v1::ORGANISATION_KIND_NGO);
    request.mutable_organisation()->set_url("https://example.org/" +
                                            std::string(url_length, 'x'));
    auto response = core_->CreateOrganisation(request, Admin());
    ASSERT_TRUE(response.ok()) << response.status();
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<RegistryCore> core_;
};

TEST_F(RegistryFollowTest, EveryOpenOfAStoreIsANewIncarnation) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::string incarnation = core_->incarnation();
  EXPECT_THAT(incarnation, MatchesRegex("[0-9a-f]{32}"));
  v1::ListCountriesRequest countries;
  EXPECT_EQ(core_->ListCountries(countries)->incarnation(), incarnation);
  EXPECT_EQ(core_->ListRegions({})->incarnation(), incarnation);
  EXPECT_EQ(core_->ListOrganisations({})->incarnation(), incarnation);
  EXPECT_EQ(core_->ChangesAfter(0)->incarnation(), incarnation);

  ASSERT_NO_FATAL_FAILURE(CreateOrganisation("ACME"));
  // Reopened, it may have been restored from an older copy meanwhile.
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_THAT(core_->incarnation(), MatchesRegex("[0-9a-f]{32}"));
  EXPECT_NE(core_->incarnation(), incarnation);

  // A new file is another life.
  path_ = dir_ + "/other.sqlite3";
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_THAT(core_->incarnation(), MatchesRegex("[0-9a-f]{32}"));
  EXPECT_NE(core_->incarnation(), incarnation);
}

TEST_F(RegistryFollowTest, AFileOfTheFirstSchemaGetsAnIncarnation) {
  std::filesystem::copy_file(
      std::string(THB_TESTDATA_DIR) + "/registry-schema1.sqlite3", path_);
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::string incarnation = core_->incarnation();
  EXPECT_THAT(incarnation, MatchesRegex("[0-9a-f]{32}"));
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_THAT(core_->incarnation(), MatchesRegex("[0-9a-f]{32}"));
}

TEST_F(RegistryFollowTest, AWatchThatCannotResumeIsOutOfRange) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(CreateOrganisation("ACME"));
  ASSERT_EQ(core_->revision(), 2);
  EXPECT_TRUE(core_->ChangesAfter(2, core_->incarnation()).ok());
  // A follower that saw revision 5 of a store now at 2: restored or reset.
  auto ahead = core_->ChangesAfter(5);
  EXPECT_EQ(ahead.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(
      std::string(ahead.status().message()),
      ::testing::AllOf(::testing::HasSubstr("5"), ::testing::HasSubstr("2")));
  auto other = core_->ChangesAfter(1, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(RegistryFollowTest, PagesStopAtTheirByteBudgetWithoutGapsOrRepeats) {
  CoreOptions options;
  options.max_page_bytes = 4096;
  ASSERT_NO_FATAL_FAILURE(Open(options));
  std::vector<std::string> codes;
  v1::ListCountriesRequest request;
  request.set_page_size(1000);
  int pages = 0;
  do {
    auto page = core_->ListCountries(request);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_GE(page->countries_size(), 1);
    size_t bytes = 0;
    for (const auto& country : page->countries()) {
      bytes += RepeatedFieldBytes(country.ByteSizeLong());
      codes.push_back(country.code());
    }
    EXPECT_LE(bytes, options.max_page_bytes);
    request.set_page_token(page->next_page_token());
    ++pages;
  } while (!request.page_token().empty());
  EXPECT_GT(pages, 1);
  EXPECT_EQ(codes.size(), 249u);
  EXPECT_TRUE(std::is_sorted(codes.begin(), codes.end()));
  EXPECT_EQ(std::adjacent_find(codes.begin(), codes.end()), codes.end());

  // An item larger than the whole budget still comes, alone.
  ASSERT_NO_FATAL_FAILURE(CreateOrganisation("BIG", 1900));
  options.max_page_bytes = 100;
  ASSERT_NO_FATAL_FAILURE(Open(options));
  v1::ListOrganisationsRequest organisations;
  auto page = core_->ListOrganisations(organisations);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->organisations_size(), 1);
  EXPECT_FALSE(page->next_page_token().empty());
}

TEST_F(RegistryFollowTest, WatchBatchesStopAtTheirByteBudgetOnWholeRevisions) {
  CoreOptions options;
  options.max_batch_bytes = 8192;
  ASSERT_NO_FATAL_FAILURE(Open(options));
  // The seed is one revision far over the budget: it still comes whole.
  auto seed = core_->ChangesAfter(0);
  ASSERT_TRUE(seed.ok());
  EXPECT_EQ(seed->changes_size(), 249 + 5 + 13);
  EXPECT_EQ(seed->changes(seed->changes_size() - 1).revision(), 1);

  for (int i = 0; i < 10; ++i) {
    ASSERT_NO_FATAL_FAILURE(
        CreateOrganisation("ORG_" + std::to_string(i), 1500));
  }
  int64_t from = 1;
  int batches = 0;
  while (from < core_->revision()) {
    auto batch = core_->ChangesAfter(from);
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_GE(batch->changes_size(), 1);
    size_t bytes = 0;
    for (int i = 0; i < batch->changes_size(); ++i) {
      EXPECT_EQ(batch->changes(i).revision(), from + 1 + i);
      bytes += RepeatedFieldBytes(batch->changes(i).ByteSizeLong());
    }
    EXPECT_LE(bytes, options.max_batch_bytes);
    from = batch->changes(batch->changes_size() - 1).revision();
    ++batches;
  }
  EXPECT_GT(batches, 1);
  EXPECT_EQ(from, 11);
}

TEST_F(RegistryFollowTest, AWatcherThatDoesNotReturnHoldsUpNoWrite) {
  ASSERT_NO_FATAL_FAILURE(Open());
  // Shared with the watcher, which may still be returning from its wait on
  // the fan-out thread when this test ends.
  auto entered = std::make_shared<absl::Notification>();
  auto release = std::make_shared<absl::Notification>();
  core_->notifier().WhenAfter(core_->revision(), [entered, release] {
    entered->Notify();
    release->WaitForNotification();
  });
  absl::Notification written;
  std::thread writer([&] {
    CreateOrganisation("FIRST");
    CreateOrganisation("SECOND");
    written.Notify();
  });
  const bool done = written.WaitForNotificationWithTimeout(absl::Seconds(10));
  release->Notify();
  writer.join();
  EXPECT_TRUE(done) << "writes waited for a watcher";
  EXPECT_TRUE(entered->WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(core_->revision(), 3);
}

// The service on a loopback port, plaintext: only the stream count matters.
class RegistryWatchLimitTest : public RegistryFollowTest {
 protected:
  void Start(int max_streams) {
    ASSERT_NO_FATAL_FAILURE(Open());
    service_ =
        std::make_unique<RegistryService>(core_.get(), &executor_, max_streams);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::CountryRegistryService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                            grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now()));
  }

  struct Stream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader;
  };

  // Opens a watch and returns once the server accepted or refused it.
  std::unique_ptr<Stream> Watch() {
    auto stream = std::make_unique<Stream>();
    v1::WatchRequest request;
    request.set_from_revision(core_->revision());
    stream->reader = stub_->Watch(&stream->context, request);
    stream->reader->WaitForInitialMetadata();
    return stream;
  }

  static bool Accepted(Stream& stream) {
    return stream.context.GetServerInitialMetadata().count(
               WatchReactor<v1::WatchResponse>::kRevisionHeader) > 0;
  }

  Executor executor_{1};
  std::unique_ptr<RegistryService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::CountryRegistryService::Stub> stub_;
};

TEST_F(RegistryWatchLimitTest, AStreamBeyondTheLimitIsResourceExhausted) {
  EXPECT_EQ(WatchStreamLimit().max_streams(), kMaxWatchStreams);
  ASSERT_NO_FATAL_FAILURE(Start(2));
  auto first = Watch();
  auto second = Watch();
  EXPECT_TRUE(Accepted(*first));
  EXPECT_TRUE(Accepted(*second));

  auto third = Watch();
  EXPECT_FALSE(Accepted(*third));
  const grpc::Status refused = third->reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("2 watch streams"));

  // A closed stream makes room.
  first->context.TryCancel();
  first->reader->Finish();
  std::unique_ptr<Stream> again;
  for (int i = 0; i < 50; ++i) {
    again = Watch();
    if (Accepted(*again)) break;
    again->reader->Finish();
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(Accepted(*again));
  for (Stream* stream : {second.get(), again.get()}) {
    stream->context.TryCancel();
    stream->reader->Finish();
  }
}

}  // namespace
}  // namespace thb::registry
