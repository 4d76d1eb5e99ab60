// The index follower's threads: a cooperation core written by several
// threads, the follower applying its changes, queries reading the index and
// waiting for revisions, all at once. The follower reaches the core through
// an in-process transport instead of gRPC, so that ThreadSanitizer sees every
// hand-off between those threads (Debian's gRPC is not built with it, and its
// own threads would hide them); the scripts run this test under TSan.
#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/aggregator/index_follower.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/sqlite_cooperation_store.h"
#include "tests/cooperation/static_references.h"
#include "tests/support/process.h"
#include "thb/cooperation/v1/cooperation_service_mock.grpc.pb.h"

namespace thb::aggregator {
namespace {

namespace coop = ::thb::cooperation;
namespace v1 = ::thb::cooperation::v1;

constexpr char kDomain[] = "cooperation.thb.example";

// The cooperation service's client interface answered by a core in this
// process. Calls go to the core being served; serving another one (a store
// replaced or restored) ends the open streams with UNAVAILABLE, as a
// restarted server would. Shutdown() ends every stream and fails every later
// call, so that a follower can be stopped.
class InProcessCooperation {
 public:
  void Serve(std::shared_ptr<coop::CooperationCore> core) {
    std::vector<std::shared_ptr<Stream>> open;
    {
      absl::MutexLock lock(&mu_);
      core_ = std::move(core);
      open.swap(streams_);
    }
    for (const auto& stream : open) stream->End(Unavailable());
  }

  void Shutdown() {
    std::vector<std::shared_ptr<Stream>> open;
    {
      absl::MutexLock lock(&mu_);
      down_ = true;
      open.swap(streams_);
    }
    for (const auto& stream : open) stream->End(Unavailable());
  }

  std::unique_ptr<v1::CooperationRecordService::StubInterface> NewStub() {
    auto stub = std::make_unique<
        ::testing::NiceMock<v1::MockCooperationRecordServiceStub>>();
    ON_CALL(*stub, ListRecords)
        .WillByDefault([this](grpc::ClientContext*,
                              const v1::ListRecordsRequest& request,
                              v1::ListRecordsResponse* response) {
          return List(request, response);
        });
    ON_CALL(*stub, WatchRaw)
        .WillByDefault(
            [this](grpc::ClientContext*, const v1::WatchRequest& request)
                -> grpc::ClientReaderInterface<v1::WatchResponse>* {
              return OpenWatch(request);
            });
    return stub;
  }

 private:
  static grpc::Status Unavailable() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server went away");
  }

  // One Watch stream's state, shared with the notifier's callbacks so that
  // a late callback never outlives it.
  struct Stream {
    absl::Mutex mu;
    bool ended ABSL_GUARDED_BY(mu) = false;
    grpc::Status status ABSL_GUARDED_BY(mu);
    bool woken ABSL_GUARDED_BY(mu) = false;

    void End(const grpc::Status& why) {
      absl::MutexLock lock(&mu);
      if (ended) return;
      ended = true;
      status = why;
    }
  };

  // Reads a stream as the server's WatchReactor writes it: each batch of
  // changes after the last revision sent, waiting on the store's notifier
  // when there is none.
  class Reader : public grpc::ClientReaderInterface<v1::WatchResponse> {
   public:
    Reader(std::shared_ptr<coop::CooperationCore> core,
           std::shared_ptr<Stream> stream, const v1::WatchRequest& request)
        : core_(std::move(core)),
          stream_(std::move(stream)),
          sent_(request.from_revision()),
          incarnation_(request.incarnation()) {}

    bool Read(v1::WatchResponse* response) override {
      while (true) {
        {
          absl::MutexLock lock(&stream_->mu);
          if (stream_->ended) return false;
          stream_->woken = false;
        }
        absl::StatusOr<v1::WatchResponse> batch =
            core_->ChangesAfter(sent_, incarnation_);
        if (!batch.ok()) {
          stream_->End(ToGrpcStatus(batch.status(), kDomain));
          return false;
        }
        if (batch->changes_size() > 0) {
          sent_ = batch->changes(batch->changes_size() - 1).revision();
          *response = std::move(*batch);
          return true;
        }
        const uint64_t id =
            core_->notifier().WhenAfter(sent_, [stream = stream_] {
              absl::MutexLock lock(&stream->mu);
              stream->woken = true;
            });
        bool ended;
        {
          absl::MutexLock lock(&stream_->mu);
          stream_->mu.Await(absl::Condition(
              +[](Stream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
                return s->woken || s->ended;
              },
              stream_.get()));
          ended = stream_->ended;
        }
        if (ended && id != 0) core_->notifier().Cancel(id);
      }
    }

    grpc::Status Finish() override {
      absl::MutexLock lock(&stream_->mu);
      return stream_->status;
    }
    bool NextMessageSize(uint32_t* size) override {
      *size = 64 << 20;
      return true;
    }
    void WaitForInitialMetadata() override {}

   private:
    std::shared_ptr<coop::CooperationCore> core_;
    std::shared_ptr<Stream> stream_;
    int64_t sent_;
    std::string incarnation_;
  };

  grpc::Status List(const v1::ListRecordsRequest& request,
                    v1::ListRecordsResponse* response) {
    std::shared_ptr<coop::CooperationCore> core;
    {
      absl::MutexLock lock(&mu_);
      if (down_) return Unavailable();
      core = core_;
    }
    auto page = core->ListRecords(request, absl::Now() + absl::Seconds(10));
    if (!page.ok()) return ToGrpcStatus(page.status(), kDomain);
    *response = std::move(*page);
    return grpc::Status::OK;
  }

  grpc::ClientReaderInterface<v1::WatchResponse>* OpenWatch(
      const v1::WatchRequest& request) {
    auto stream = std::make_shared<Stream>();
    std::shared_ptr<coop::CooperationCore> core;
    {
      absl::MutexLock lock(&mu_);
      core = core_;
      if (down_) {
        stream->End(Unavailable());
      } else {
        streams_.push_back(stream);
      }
    }
    return new Reader(std::move(core), std::move(stream), request);
  }

  absl::Mutex mu_;
  std::shared_ptr<coop::CooperationCore> core_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  bool down_ ABSL_GUARDED_BY(mu_) = false;
};

audit::Invocation Editor() {
  return {{"spiffe://thb/editor/dev", "ipv4:127.0.0.1:50000"},
          "/thb.cooperation.v1.CooperationRecordService/Test"};
}

v1::CooperationRecord Record(const std::string& id, const std::string& text) {
  v1::CooperationRecord record;
  record.set_id(id);
  record.set_reporting_country("NL");
  record.set_kind(v1::RECORD_KIND_GOOD_PRACTICE);
  record.add_thematic_areas(v1::THEMATIC_AREA_PREVENTION);
  record.set_description(text);
  record.add_sources()->set_citation("EMN (2025), press release");
  return record;
}

class IndexFollowerThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("index_follower_threads");
  }

  void TearDown() override {
    transport_.Shutdown();
    if (follower_ != nullptr) follower_->Stop();
  }

  std::shared_ptr<coop::CooperationCore> OpenCore(const std::string& name) {
    auto store = coop::SqliteCooperationStore::Open(dir_ + "/" + name);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return nullptr;
    auto core = coop::CooperationCore::Open(std::move(*store), &references_);
    EXPECT_TRUE(core.ok()) << core.status();
    if (!core.ok()) return nullptr;
    return std::shared_ptr<coop::CooperationCore>(std::move(*core));
  }

  IndexFollower& Follow() {
    IndexFollower::Options options;
    options.address = "in-process";
    options.initial_backoff = absl::Milliseconds(5);
    options.max_backoff = absl::Milliseconds(50);
    options.page_size = 7;  // several pages, each a separate call
    follower_ = std::make_unique<IndexFollower>(transport_.NewStub(),
                                                std::move(options));
    follower_->Start();
    EXPECT_TRUE(follower_->WaitSynced(absl::Now() + absl::Seconds(30)).ok());
    return *follower_;
  }

  static void Create(coop::CooperationCore& core, const std::string& id) {
    v1::CreateRecordRequest request;
    *request.mutable_record() = Record(id, "created");
    auto response =
        core.CreateRecord(request, absl::Now() + absl::Seconds(10), Editor());
    ASSERT_TRUE(response.ok()) << response.status();
  }

  // Each record of `core` with its revision, and what `follower` holds.
  static std::set<std::pair<std::string, int64_t>> Listed(
      const coop::CooperationCore& core) {
    std::set<std::pair<std::string, int64_t>> listed;
    v1::ListRecordsRequest request;
    request.set_page_size(1000);
    auto page = core.ListRecords(request, absl::Now() + absl::Seconds(10));
    EXPECT_TRUE(page.ok()) << page.status();
    EXPECT_TRUE(page->next_page_token().empty());
    for (const auto& record : page->records()) {
      listed.emplace(record.id(), record.revision());
    }
    return listed;
  }
  static std::set<std::pair<std::string, int64_t>> Indexed(
      const IndexFollower& follower) {
    std::set<std::pair<std::string, int64_t>> indexed;
    follower.Read([&](const RecordIndex& index, int64_t, const std::string&) {
      const RecordIndex::Bits& live = index.live();
      for (RecordIndex::Slot slot = 0; slot < index.slot_count(); ++slot) {
        const size_t word = slot / RecordIndex::kWordBits;
        if (word < live.size() &&
            (live[word] >> (slot % RecordIndex::kWordBits)) & 1) {
          indexed.emplace(std::string(index.id(slot)), index.revision(slot));
        }
      }
    });
    return indexed;
  }

  std::string dir_;
  coop::StaticReferences references_{true};
  InProcessCooperation transport_;
  std::unique_ptr<IndexFollower> follower_;
};

// Queries run on every thread a server has: they read the index, wait for
// a revision with a thread or with a callback (some cancelled before they
// run), and ask whether a revision is reachable, while the changes they
// read apply.
void Query(IndexFollower& follower, const std::atomic<bool>& done, int seed) {
  std::mt19937 random(seed);
  int64_t last = 0;
  // Callbacks left waiting may run after this function returns.
  auto ran = std::make_shared<std::atomic<int>>(0);
  std::string last_incarnation;
  while (!done.load()) {
    int64_t revision = -1;
    std::string incarnation;
    size_t size = 0;
    follower.Read(
        [&](const RecordIndex& index, int64_t at, const std::string& of) {
          revision = at;
          incarnation = of;
          size = index.size();
        });
    EXPECT_FALSE(incarnation.empty());
    if (incarnation == last_incarnation) {
      EXPECT_GE(revision, last) << "the index moved back without a new list";
    }
    EXPECT_LE(size, 1000u);
    last = revision;
    last_incarnation = incarnation;
    const uint64_t id =
        follower.WhenRevision(revision + 1 + random() % 3, [ran] { ++*ran; });
    if (id != 0 && random() % 2 == 0) follower.CancelWhen(id);
    EXPECT_TRUE(follower.CheckReachable(revision, absl::Now()).ok());
    const absl::Status far = follower.CheckReachable(
        follower.store_revision() + 1000000, absl::Now() + absl::Seconds(5));
    EXPECT_EQ(far.code(), absl::StatusCode::kOutOfRange) << far;
    // A revision read is held until the store is replaced.
    if (!follower.WaitForRevision(revision, absl::Now() + absl::Seconds(2))
             .ok()) {
      EXPECT_NE(follower.incarnation(), incarnation);
    }
  }
}

TEST_F(IndexFollowerThreadsTest, AppliesConcurrentWritesWhileQueriesRead) {
  std::shared_ptr<coop::CooperationCore> core = OpenCore("a.sqlite3");
  ASSERT_NE(core, nullptr);
  for (int i = 0; i < 20; ++i) Create(*core, absl::StrCat("seed-", i));
  transport_.Serve(core);
  IndexFollower& follower = Follow();

  std::atomic<bool> done{false};
  std::vector<std::thread> queries;
  for (int q = 0; q < 3; ++q) {
    queries.emplace_back([&follower, &done, q] { Query(follower, done, q); });
  }
  // Two writers: each creates, updates and deletes records of its own, and
  // after each write waits until the index holds it, as a caller passing
  // min_cooperation_revision would.
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 40; ++i) {
        const std::string id = absl::StrCat("w", w, "-", i);
        v1::CreateRecordRequest create;
        *create.mutable_record() = Record(id, "first");
        auto created = core->CreateRecord(
            create, absl::Now() + absl::Seconds(10), Editor());
        ASSERT_TRUE(created.ok()) << created.status();
        int64_t revision = created->record().revision();
        if (i % 3 == 1) {
          v1::UpdateRecordRequest update;
          *update.mutable_record() = Record(id, "second");
          update.mutable_update_mask()->add_paths("description");
          auto updated = core->UpdateRecord(
              update, absl::Now() + absl::Seconds(10), Editor());
          ASSERT_TRUE(updated.ok()) << updated.status();
          revision = updated->record().revision();
        } else if (i % 3 == 2) {
          v1::DeleteRecordRequest remove;
          remove.set_id(id);
          auto removed = core->DeleteRecord(remove, Editor());
          ASSERT_TRUE(removed.ok()) << removed.status();
          revision = removed->revision();
        }
        ASSERT_TRUE(
            follower.WaitForRevision(revision, absl::Now() + absl::Seconds(30))
                .ok());
      }
    });
  }
  for (auto& writer : writers) writer.join();
  done = true;
  for (auto& query : queries) query.join();

  ASSERT_TRUE(
      follower
          .WaitForRevision(core->revision(), absl::Now() + absl::Seconds(30))
          .ok());
  EXPECT_EQ(Indexed(follower), Listed(*core));
  EXPECT_EQ(follower.lists(), 1);
  EXPECT_EQ(follower.revision(), core->revision());
}

TEST_F(IndexFollowerThreadsTest, ListsAgainWhenTheStoreIsReplacedUnderQueries) {
  std::shared_ptr<coop::CooperationCore> first = OpenCore("first.sqlite3");
  std::shared_ptr<coop::CooperationCore> second = OpenCore("second.sqlite3");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  for (int i = 0; i < 30; ++i) Create(*first, absl::StrCat("first-", i));
  for (int i = 0; i < 9; ++i) Create(*second, absl::StrCat("second-", i));
  transport_.Serve(first);
  IndexFollower& follower = Follow();

  // A waiter for a revision only the first store would have reached: the
  // new list runs it so that its caller checks again.
  std::atomic<bool> woken{false};
  follower.WhenRevision(first->revision() + 5, [&woken] { woken = true; });

  std::atomic<bool> done{false};
  std::vector<std::thread> queries;
  for (int q = 0; q < 2; ++q) {
    queries.emplace_back(
        [&follower, &done, q] { Query(follower, done, 10 + q); });
  }
  std::thread writer([&] {
    for (int i = 30; i < 45; ++i) Create(*first, absl::StrCat("first-", i));
  });
  writer.join();
  transport_.Serve(second);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (follower.incarnation() != second->incarnation() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  done = true;
  for (auto& query : queries) query.join();

  EXPECT_EQ(follower.incarnation(), second->incarnation());
  EXPECT_EQ(follower.lists(), 2);
  EXPECT_TRUE(woken.load());
  EXPECT_EQ(Indexed(follower), Listed(*second));
}

TEST_F(IndexFollowerThreadsTest, StopsWithCallbacksWaitingAndAStreamOpen) {
  std::shared_ptr<coop::CooperationCore> core = OpenCore("a.sqlite3");
  ASSERT_NE(core, nullptr);
  Create(*core, "only");
  transport_.Serve(core);
  IndexFollower& follower = Follow();
  std::atomic<int> ran{0};
  for (int i = 0; i < 50; ++i) {
    follower.WhenRevision(core->revision() + 1 + i, [&ran] { ++ran; });
  }
  std::thread writer([&] { Create(*core, "late"); });
  writer.join();
  transport_.Shutdown();
  follower.Stop();
  // The callback for the one revision written ran; the others never will.
  EXPECT_LE(ran.load(), 1);
  EXPECT_GE(follower.waiting(), 49u);
}

}  // namespace
}  // namespace thb::aggregator
