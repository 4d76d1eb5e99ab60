// The aggregator's index following a real cooperation service in this
// process: it lists again when resuming cannot work.
#include "services/aggregator/index_follower.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/executor.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/cooperation_service.h"
#include "services/cooperation/sqlite_cooperation_store.h"
#include "tests/cooperation/static_references.h"
#include "tests/support/process.h"

namespace thb::aggregator {
namespace {

namespace coop = ::thb::cooperation;

audit::Invocation Editor() {
  return {{"spiffe://thb/editor/dev", "ipv4:127.0.0.1:50000"},
          "/thb.cooperation.v1.CooperationRecordService/Test"};
}

coop::v1::CooperationRecord Record(const std::string& id, size_t description) {
  coop::v1::CooperationRecord record;
  record.set_id(id);
  record.set_reporting_country("NL");
  record.set_kind(coop::v1::RECORD_KIND_GOOD_PRACTICE);
  record.add_thematic_areas(coop::v1::THEMATIC_AREA_PREVENTION);
  record.set_description(std::string(description, 'd'));
  record.add_sources()->set_citation("EMN (2025), press release");
  return record;
}

// The cooperation service on a loopback port, plaintext, that can be
// stopped and started again on the same port and file.
class IndexFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("index_follower");
    path_ = dir_ + "/cooperation.sqlite3";
    ASSERT_NO_FATAL_FAILURE(StartService());
  }

  void TearDown() override {
    followers_.clear();
    StopService();
  }

  void StartService() {
    auto store = coop::SqliteCooperationStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto core = coop::CooperationCore::Open(std::move(*store), &references_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
    service_ = std::make_unique<coop::CooperationService>(
        core_.get(), &executor_, &executor_, absl::Seconds(10));
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port_),
                             grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  void StopService() {
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now()));
    server_.reset();
    service_.reset();
    core_.reset();
  }

  // A follower of the service, not started.
  IndexFollower& NewFollower(int max_receive_bytes = 64 << 20) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(max_receive_bytes);
    IndexFollower::Options options;
    options.address = absl::StrCat("127.0.0.1:", port_);
    options.max_backoff = absl::Milliseconds(200);
    options.call_timeout = absl::Seconds(5);
    followers_.push_back(std::make_unique<IndexFollower>(
        grpc::CreateCustomChannel(options.address,
                                  grpc::InsecureChannelCredentials(), args),
        options));
    return *followers_.back();
  }

  IndexFollower& Follow(int max_receive_bytes = 64 << 20) {
    NewFollower(max_receive_bytes).Start();
    EXPECT_TRUE(
        followers_.back()->WaitSynced(absl::Now() + absl::Seconds(20)).ok());
    return *followers_.back();
  }

  void Batch(const std::string& prefix, int count, size_t description) {
    coop::v1::BatchCreateRecordsRequest request;
    for (int i = 0; i < count; ++i) {
      *request.add_records() =
          Record(absl::StrCat(prefix, "-", i), description);
    }
    auto response = core_->BatchCreateRecords(
        request, absl::Now() + absl::Seconds(5), Editor());
    ASSERT_TRUE(response.ok()) << response.status();
  }

  // Each id of `ids` with the revision the index holds it at (-1: absent).
  static std::vector<int64_t> Revisions(const IndexFollower& follower,
                                        const std::vector<std::string>& ids) {
    std::vector<int64_t> revisions;
    follower.Read([&](const RecordIndex& index, int64_t, const std::string&) {
      for (const auto& id : ids) {
        revisions.push_back(index.RevisionOf(id).value_or(-1));
      }
    });
    return revisions;
  }

  static size_t Size(const IndexFollower& follower) {
    size_t size = 0;
    follower.Read([&](const RecordIndex& index, int64_t, const std::string&) {
      size = index.size();
    });
    return size;
  }

  std::string dir_;
  std::string path_;
  int port_ = 0;
  coop::StaticReferences references_{true};
  Executor executor_{2};
  std::unique_ptr<coop::CooperationCore> core_;
  std::unique_ptr<coop::CooperationService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::unique_ptr<IndexFollower>> followers_;
};

TEST_F(IndexFollowerTest, AWatchMessageTooLargeToReceiveMakesItListAgain) {
  IndexFollower& follower = Follow(/*max_receive_bytes=*/64 << 10);
  ASSERT_EQ(follower.lists(), 1);
  // One revision of about 85 kB: no watch message can carry it to a client
  // that receives 64 KiB, so only listing (in smaller pages) gets past it.
  ASSERT_NO_FATAL_FAILURE(Batch("big", 40, 2000));
  EXPECT_TRUE(
      follower.WaitForRevision(1, absl::Now() + absl::Seconds(30)).ok());
  EXPECT_GE(follower.lists(), 2);
  EXPECT_EQ(Size(follower), 40u);
}

// What the index held when a callback ran, and that it ran.
struct Seen {
  absl::Notification ran;
  bool synced = false;
  int64_t revision = -1;
  int lists = -1;
};

// Records what `follower` holds; taking the index lock there shows the
// callback runs outside it (else it would never return).
absl::AnyInvocable<void()> Record(const IndexFollower& follower, Seen* seen) {
  return [&follower, seen] {
    seen->synced = follower.synced();
    seen->revision = follower.revision();
    seen->lists = follower.lists();
    seen->ran.Notify();
  };
}

TEST_F(IndexFollowerTest, WhenRevisionTellsOnceTheIndexHoldsItWithNoWait) {
  IndexFollower& follower = Follow();
  ASSERT_EQ(follower.revision(), 0);

  Seen first;
  Seen second;
  Seen cancelled;
  const uint64_t first_id = follower.WhenRevision(1, Record(follower, &first));
  const uint64_t second_id =
      follower.WhenRevision(2, Record(follower, &second));
  const uint64_t cancelled_id =
      follower.WhenRevision(1, Record(follower, &cancelled));
  EXPECT_NE(first_id, 0u);
  EXPECT_NE(second_id, 0u);
  EXPECT_NE(cancelled_id, 0u);
  EXPECT_EQ(follower.waiting(), 3u);
  EXPECT_TRUE(follower.CancelWhen(cancelled_id));
  EXPECT_FALSE(follower.CancelWhen(cancelled_id));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(first.ran.HasBeenNotified());

  ASSERT_NO_FATAL_FAILURE(Batch("a", 1, 10));
  ASSERT_TRUE(first.ran.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(first.revision, 1);
  EXPECT_TRUE(first.synced);
  EXPECT_FALSE(follower.CancelWhen(first_id));
  // Revision 2 is not written yet.
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(second.ran.HasBeenNotified());
  EXPECT_EQ(follower.waiting(), 1u);

  ASSERT_NO_FATAL_FAILURE(Batch("b", 1, 10));
  ASSERT_TRUE(second.ran.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(second.revision, 2);
  EXPECT_EQ(follower.waiting(), 0u);
  EXPECT_FALSE(cancelled.ran.HasBeenNotified());

  // A revision the index holds: at once, on this thread.
  Seen held;
  EXPECT_EQ(follower.WhenRevision(2, Record(follower, &held)), 0u);
  EXPECT_TRUE(held.ran.HasBeenNotified());
  EXPECT_EQ(follower.waiting(), 0u);
}

TEST_F(IndexFollowerTest, WhenSyncedTellsOfTheFirstList) {
  ASSERT_NO_FATAL_FAILURE(Batch("a", 2, 10));
  IndexFollower& follower = NewFollower();
  Seen synced;
  EXPECT_NE(follower.WhenSynced(Record(follower, &synced)), 0u);
  EXPECT_EQ(follower.waiting(), 1u);
  follower.Start();
  ASSERT_TRUE(synced.ran.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_TRUE(synced.synced);
  EXPECT_EQ(synced.revision, 1);
  EXPECT_EQ(synced.lists, 1);
  EXPECT_EQ(follower.waiting(), 0u);
}

TEST_F(IndexFollowerTest, AStoreRestoredFromAnOlderCopyMakesItListAgain) {
  ASSERT_NO_FATAL_FAILURE(Batch("a", 3, 10));
  IndexFollower& follower = Follow();
  ASSERT_EQ(follower.revision(), 1);
  const std::string incarnation = follower.incarnation();
  EXPECT_EQ(incarnation, core_->incarnation());

  // A backup at revision 1, taken while the service is stopped.
  StopService();
  std::filesystem::copy_file(path_, dir_ + "/backup.sqlite3");
  ASSERT_NO_FATAL_FAILURE(StartService());
  ASSERT_NO_FATAL_FAILURE(Batch("b", 2, 10));
  ASSERT_NO_FATAL_FAILURE(Batch("c", 2, 10));
  ASSERT_NO_FATAL_FAILURE(Batch("d", 2, 10));
  ASSERT_TRUE(
      follower.WaitForRevision(4, absl::Now() + absl::Seconds(20)).ok());
  EXPECT_EQ(Size(follower), 9u);

  // Restored: at revision 1 again (and, opened again, a new incarnation),
  // then other writes that take it to revision 2, lower than the
  // follower's 4.
  StopService();
  std::filesystem::copy_file(dir_ + "/backup.sqlite3", path_,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove(path_ + "-wal");
  std::filesystem::remove(path_ + "-shm");
  ASSERT_NO_FATAL_FAILURE(StartService());
  ASSERT_NE(core_->incarnation(), incarnation);
  ASSERT_NO_FATAL_FAILURE(Batch("e", 1, 10));

  const std::vector<std::string> ids = {"a-0", "a-1", "a-2", "b-0",
                                        "b-1", "c-0", "d-0", "e-0"};
  IndexFollower& fresh = Follow();
  ASSERT_EQ(fresh.revision(), 2);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline &&
         (follower.revision() != 2 ||
          Revisions(follower, ids) != Revisions(fresh, ids))) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(follower.revision(), 2);
  EXPECT_EQ(Revisions(follower, ids), Revisions(fresh, ids));
  EXPECT_EQ(Size(follower), 4u);
  EXPECT_GE(follower.lists(), 2);
}

}  // namespace
}  // namespace thb::aggregator
