#include "common/audit_log.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace thb::audit {
namespace {

using google::protobuf::util::TimeUtil;
using registry::v1::ListAuditEventsRequest;
using registry::v1::ListAuditEventsResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

// The audit table in a real SQLite file, filled by Append as the stores do.
class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = sqlite::Database::Open(thb::testing::MakeTempDir("audit") +
                                     "/audit.sqlite3");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Migrate({kMigrationSql}).ok());
  }

  // Appends an event of `principal` about `resource` at `time`.
  void Add(const std::string& principal, const std::string& resource,
           absl::Time time) {
    Invocation call{{principal, "ipv4:127.0.0.1:1"}, "/thb.test.v1.S/Write"};
    ASSERT_TRUE(Append(db_.get(), {EventOf(call, resource, "", ++revision_,
                                           absl::ToUnixMicros(time))})
                    .ok());
  }

  absl::StatusOr<ListAuditEventsResponse> List(
      const ListAuditEventsRequest& request,
      absl::Duration retention = kDefaultRetention) {
    auto query = QueryOf(request, kNow, retention);
    if (!query.ok()) return query.status();
    auto events = Read(db_.get(), *query);
    if (!events.ok()) return events.status();
    return ResponseOf(request, std::move(*events));
  }

  static std::vector<std::string> Resources(
      const ListAuditEventsResponse& response) {
    std::vector<std::string> resources;
    for (const auto& event : response.events()) {
      resources.push_back(event.resource());
    }
    return resources;
  }

  std::unique_ptr<sqlite::Database> db_;
  int64_t revision_ = 0;
};

TEST_F(AuditLogTest, PagesGoNewestFirstAndEndWithoutAToken) {
  for (int i = 1; i <= 5; ++i) {
    Add("alice", absl::StrCat("records/r", i), kNow - absl::Minutes(10 - i));
  }
  ListAuditEventsRequest request;
  request.set_page_size(2);
  std::vector<std::string> seen;
  int pages = 0;
  do {
    auto page = List(request);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    EXPECT_LE(page->events_size(), 2);
    for (const auto& resource : Resources(*page)) seen.push_back(resource);
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, ElementsAre("records/r5", "records/r4", "records/r3",
                                "records/r2", "records/r1"));
}

TEST_F(AuditLogTest, PageSizeIsCappedAtTheMaximum) {
  for (int i = 0; i < kMaxPageSize + 1; ++i) Add("alice", "records/r", kNow);
  ListAuditEventsRequest request;
  request.set_page_size(kMaxPageSize + 1);
  auto page = List(request);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->events_size(), kMaxPageSize);
  EXPECT_FALSE(page->next_page_token().empty());
  request.set_page_size(kMaxPageSize);
  request.set_page_token(page->next_page_token());
  auto last = List(request);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->events_size(), 1);
  EXPECT_TRUE(last->next_page_token().empty());
}

TEST_F(AuditLogTest, FiltersOnResourcePrincipalAndTimeTogether) {
  Add("alice", "records/a", kNow - absl::Hours(3));
  Add("bob", "records/a", kNow - absl::Hours(2));
  Add("alice", "records/b", kNow - absl::Hours(2));
  Add("alice", "records/a", kNow - absl::Hours(1));

  ListAuditEventsRequest request;
  request.set_resource("records/a");
  auto by_resource = List(request);
  ASSERT_TRUE(by_resource.ok());
  EXPECT_EQ(by_resource->events_size(), 3);

  request.set_principal("alice");
  auto both = List(request);
  ASSERT_TRUE(both.ok());
  ASSERT_EQ(both->events_size(), 2);
  EXPECT_EQ(both->events(0).revision(), 4);
  EXPECT_EQ(both->events(1).revision(), 1);

  // [start, end): the event at the start is in, the one at the end is out.
  *request.mutable_start_time() = TimeUtil::MicrosecondsToTimestamp(
      absl::ToUnixMicros(kNow - absl::Hours(3)));
  *request.mutable_end_time() = TimeUtil::MicrosecondsToTimestamp(
      absl::ToUnixMicros(kNow - absl::Hours(1)));
  auto window = List(request);
  ASSERT_TRUE(window.ok());
  ASSERT_EQ(window->events_size(), 1);
  EXPECT_EQ(window->events(0).revision(), 1);
  EXPECT_EQ(window->events(0).principal(), "alice");
  EXPECT_EQ(window->events(0).method(), "/thb.test.v1.S/Write");
  EXPECT_EQ(window->events(0).peer(), "ipv4:127.0.0.1:1");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(window->events(0).time()),
            absl::ToUnixMicros(kNow - absl::Hours(3)));
}

TEST_F(AuditLogTest, BadFiltersNameTheirField) {
  auto field_of = [&](const ListAuditEventsRequest& request) {
    auto response = List(request);
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
    const auto violations = FieldViolations(response.status());
    return violations.empty() ? std::string() : violations[0].field;
  };
  ListAuditEventsRequest request;
  request.set_resource("records");
  EXPECT_EQ(field_of(request), "resource");
  request.set_resource("records/");
  EXPECT_EQ(field_of(request), "resource");

  request = {};
  request.set_principal(std::string(kMaxFilterLength + 1, 'p'));
  EXPECT_EQ(field_of(request), "principal");
  request.set_principal(std::string(kMaxFilterLength, 'p'));
  EXPECT_TRUE(List(request).ok()) << "a principal at the limit is a filter";

  request = {};
  request.mutable_start_time()->set_nanos(-1);
  EXPECT_EQ(field_of(request), "start_time");

  request = {};
  request.mutable_start_time()->set_seconds(100);
  request.mutable_end_time()->set_seconds(100);
  EXPECT_EQ(field_of(request), "end_time");

  request = {};
  request.set_page_size(-1);
  EXPECT_EQ(field_of(request), "page_size");

  request = {};
  request.set_page_token("garbage");
  EXPECT_EQ(field_of(request), "page_token");
}

TEST_F(AuditLogTest, APageTokenIsRefusedWithOtherFilters) {
  for (int i = 0; i < 3; ++i) Add("alice", "records/a", kNow);
  ListAuditEventsRequest request;
  request.set_page_size(1);
  auto first = List(request);
  ASSERT_TRUE(first.ok());
  request.set_page_token(first->next_page_token());
  request.set_principal("bob");
  auto refused = List(request);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("page_token"));
}

TEST_F(AuditLogTest, ListingStopsExactlyAtTheRetention) {
  const absl::Duration retention = absl::Hours(24);
  Add("alice", "records/expired", kNow - retention - absl::Microseconds(1));
  Add("alice", "records/oldest-kept", kNow - retention);
  auto page = List({}, retention);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(Resources(*page), ElementsAre("records/oldest-kept"));
}

TEST_F(AuditLogTest, PruneDeletesOnlyExpiredEventsAndAtMostItsLimit) {
  const absl::Time cut = kNow - absl::Hours(1);
  for (int i = 0; i < 5; ++i)
    Add("alice", "records/old", cut - absl::Seconds(i + 1));
  Add("alice", "records/at-cut", cut);
  auto pruned = Prune(db_.get(), absl::ToUnixMicros(cut), 3);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 3);
  pruned = Prune(db_.get(), absl::ToUnixMicros(cut), 3);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 2);
  // Everything that is left, whatever the retention.
  auto left = List({}, absl::Hours(1'000'000));
  ASSERT_TRUE(left.ok());
  EXPECT_THAT(Resources(*left), ElementsAre("records/at-cut"));
}

TEST_F(AuditLogTest, PruneExpiredRunsBoundedPrunesUntilNoneAreLeft) {
  std::vector<int> limits;
  int left = 2 * kMaxPrunedPerCommit + 5;
  ASSERT_TRUE(
      PruneExpired(kNow, absl::Hours(1),
                   [&](int64_t before, int limit) -> absl::StatusOr<int> {
                     EXPECT_EQ(before,
                               absl::ToUnixMicros(kNow - absl::Hours(1)));
                     limits.push_back(limit);
                     const int deleted = std::min(left, limit);
                     left -= deleted;
                     return deleted;
                   })
          .ok());
  EXPECT_EQ(left, 0);
  EXPECT_EQ(limits.size(), 3u);
  auto refused =
      PruneExpired(kNow, absl::ZeroDuration(), [](int64_t, int) { return 0; });
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("audit_retention"));
}

TEST_F(AuditLogTest, SequencesAreNeverReusedAfterAPrune) {
  Add("alice", "records/a", kNow - absl::Hours(2));
  ASSERT_TRUE(Prune(db_.get(), absl::ToUnixMicros(kNow), 10).ok());
  Add("alice", "records/b", kNow);
  auto page = List({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events_size(), 1);
  EXPECT_EQ(page->events(0).sequence(), 2);
}

}  // namespace
}  // namespace thb::audit
