// The whole suite as real processes: registry, cooperation, a real
// redis-server and one or three aggregators, with the study imported. The
// study's figures come back exactly; the cache never serves a stale answer
// and fails open; replicas share the load and survive a kill.

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "domain/dataset.h"
#include "domain/record_filter.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "services/aggregator/stats_service.h"
#include "tests/support/redis_server.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::thb::testing::Process;
using ::thb::testing::ServerProcess;
namespace coop = ::thb::cooperation::v1;
namespace stats = ::thb::stats::v1;

std::chrono::system_clock::time_point In(absl::Duration duration) {
  return absl::ToChronoTime(absl::Now() + duration);
}

const coop::Dataset& Study() {
  static const auto* dataset = [] {
    auto loaded = domain::LoadDataset(THB_STUDY_DATASET);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new coop::Dataset(std::move(*loaded));
  }();
  return *dataset;
}

const coop::Statement& Statement(int footnote) {
  for (const auto& statement : Study().statements()) {
    if (statement.footnote() == footnote) return statement;
  }
  ADD_FAILURE() << "no statement for footnote " << footnote;
  return Study().statements(0);
}

stats::CountryQuery FilterQuery(const coop::RecordFilter& filter) {
  stats::CountryQuery query;
  *query.mutable_filter() = domain::ToStatsFilter(filter);
  return query;
}

constexpr char kRedisPassword[] = "suite-redis-password-2a9f";
constexpr char kHmacKey[] = "suite-cache-hmac-key-of-40-bytes-6c1d0e";

// Writes `content` to a file in `dir` and returns its path.
std::string WriteFile(const std::string& dir, const std::string& name,
                      const std::string& content) {
  const std::string path = absl::StrCat(dir, "/", name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

class SuiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("aggregator");
    thb::testing::RedisServerOptions redis_options;
    redis_options.password = kRedisPassword;
    auto redis = thb::testing::RedisServer::Start(redis_options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    // As `echo` writes it: the trailing newline is not the password's.
    password_file_ =
        WriteFile(dir_, "redis-password", absl::StrCat(kRedisPassword, "\n"));
    key_file_ = WriteFile(dir_, "cache-hmac-key", kHmacKey);
    registry_ =
        std::make_unique<ServerProcess>(THB_REGISTRY_BIN, dir_, "registry");
    ASSERT_TRUE(registry_->Start().ok());
    cooperation_ = std::make_unique<ServerProcess>(
        THB_COOPERATION_BIN, dir_, "cooperation",
        std::vector<std::string>{
            absl::StrCat("--registry=", registry_->address())});
    ASSERT_TRUE(cooperation_->Start().ok());
    cooperation_stub_ = coop::CooperationRecordService::NewStub(
        thb::testing::TestChannel(cooperation_->address()));
    ASSERT_NO_FATAL_FAILURE(Import());
  }

  void Import() {
    coop::BatchCreateRecordsRequest request;
    *request.mutable_records() = Study().records();
    coop::BatchCreateRecordsResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(20)));
    const grpc::Status status =
        cooperation_stub_->BatchCreateRecords(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    imported_revision_ = response.revision();
  }

  // Starts `count` aggregators; returns their addresses joined by commas.
  std::string StartAggregators(int count) {
    std::vector<std::string> addresses;
    for (int i = 0; i < count; ++i) {
      auto server = std::make_unique<ServerProcess>(
          THB_AGGREGATOR_BIN, dir_, absl::StrCat("aggregator", i),
          std::vector<std::string>{
              absl::StrCat("--registry=", registry_->address()),
              absl::StrCat("--cooperation=", cooperation_->address()),
              absl::StrCat("--redis=", redis_->address()),
              absl::StrCat("--redis_password_file=", password_file_),
              absl::StrCat("--cache_hmac_key_file=", key_file_),
              "--redis_timeout=100ms"},
          /*with_db=*/false);
      auto started = server->Start();
      EXPECT_TRUE(started.ok()) << started;
      addresses.push_back(server->address());
      aggregators_.push_back(std::move(server));
    }
    return absl::StrJoin(addresses, ",");
  }

  stats::CountCountriesResponse Count(stats::StatisticsService::Stub& stub,
                                      const stats::CountryQuery& query,
                                      int64_t min_revision = 0,
                                      const std::string& as_of = "2025-07-16") {
    stats::CountCountriesRequest request;
    *request.mutable_query() = query;
    request.set_as_of_date(as_of);
    request.set_min_cooperation_revision(min_revision);
    stats::CountCountriesResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(15)));
    const grpc::Status status =
        stub.CountCountries(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string dir_;
  std::string password_file_;
  std::string key_file_;
  std::unique_ptr<thb::testing::RedisServer> redis_;
  std::unique_ptr<ServerProcess> registry_;
  std::unique_ptr<ServerProcess> cooperation_;
  std::unique_ptr<coop::CooperationRecordService::Stub> cooperation_stub_;
  std::vector<std::unique_ptr<ServerProcess>> aggregators_;
  int64_t imported_revision_ = 0;
};

TEST_F(SuiteTest, EveryFigureOfTheStudyComesBackExactly) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  for (const auto& statement : Study().statements()) {
    const auto response =
        Count(*stub, FilterQuery(statement.filter()), imported_revision_);
    EXPECT_EQ(response.count(), statement.count())
        << "footnote " << statement.footnote();
    if (!statement.countries().empty()) {
      EXPECT_EQ(response.footnote(), statement.countries())
          << "footnote " << statement.footnote();
    }
    EXPECT_EQ(response.as_of().cooperation_revision(), imported_revision_);
    EXPECT_GT(response.as_of().registry_revision(), 0);
  }
  const auto fn15 = Count(*stub, FilterQuery(Statement(15).filter()));
  EXPECT_EQ(absl::StrJoin(fn15.countries(), ","),
            "AT,BG,DE,EL,FR,HU,LT,NL,PL,GE,RS")
      << "study order: Members by code, then Observers";
  EXPECT_EQ(fn15.member_count(), 9);
  EXPECT_EQ(fn15.observer_count(), 2);

  // Serbia is an Observer from 2023-03-16: the day before it is not one.
  const auto before =
      Count(*stub, FilterQuery(Statement(15).filter()), 0, "2023-03-15");
  EXPECT_EQ(before.observer_count(), 1);

  stats::ShareRequest share;
  *share.mutable_part() = FilterQuery(Statement(28).filter());
  *share.mutable_whole() = FilterQuery(Statement(27).filter());
  share.set_as_of_date("2025-07-16");
  stats::ShareResponse shared;
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(10)));
  ASSERT_TRUE(stub->Share(&context, share, &shared).ok());
  EXPECT_EQ(shared.part_count(), 5);
  EXPECT_EQ(shared.whole_count(), 9);
  EXPECT_EQ(shared.text(), "5 of 9, 55.6%");
  EXPECT_EQ(shared.part_footnote(), "AT, FR, LV, PL, SI.");
}

TEST_F(SuiteTest, SetAlgebraAndBreakdownOverTheWire) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  // Countries cooperating with EU agencies (fn 7) but not with ICMPD
  // (fn 24): fn 7 minus fn 24, computed here from the records' ids.
  auto countries_of = [](int footnote) {
    std::set<std::string> countries;
    for (const auto& record : Study().records()) {
      if (record.sources(0).footnote() == footnote) {
        countries.insert(record.reporting_country());
      }
    }
    return countries;
  };
  std::set<std::string> expected = countries_of(7);
  for (const auto& code : countries_of(24)) expected.erase(code);
  ASSERT_FALSE(expected.empty());
  stats::CountryQuery difference;
  *difference.mutable_difference()->add_queries() =
      FilterQuery(Statement(7).filter());
  *difference.mutable_difference()->add_queries() =
      FilterQuery(Statement(24).filter());
  const auto answer = Count(*stub, difference, imported_revision_);
  EXPECT_EQ(std::set<std::string>(answer.countries().begin(),
                                  answer.countries().end()),
            expected);

  // fn 22 (UNODC) and fn 23 (OSCE) together, and both.
  stats::CountryQuery both;
  *both.mutable_all_of()->add_queries() = FilterQuery(Statement(22).filter());
  *both.mutable_all_of()->add_queries() = FilterQuery(Statement(23).filter());
  stats::CountryQuery either;
  *either.mutable_any_of()->mutable_queries() = both.all_of().queries();
  std::set<std::string> intersection;
  std::set<std::string> unions = countries_of(22);
  for (const auto& code : countries_of(23)) {
    if (countries_of(22).count(code)) intersection.insert(code);
    unions.insert(code);
  }
  EXPECT_EQ(Count(*stub, both).count(), static_cast<int>(intersection.size()));
  EXPECT_EQ(Count(*stub, either).count(), static_cast<int>(unions.size()));

  stats::BreakdownRequest breakdown;
  stats::CountryQuery regions;
  regions.mutable_filter();  // every record
  *breakdown.mutable_query() = regions;
  breakdown.set_dimension(stats::DIMENSION_TARGET_REGION);
  breakdown.set_as_of_date("2025-07-16");
  stats::BreakdownResponse buckets;
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(10)));
  ASSERT_TRUE(stub->Breakdown(&context, breakdown, &buckets).ok());
  std::map<std::string, int> counts;
  for (const auto& bucket : buckets.buckets())
    counts[bucket.value()] = bucket.count();
  EXPECT_EQ(counts, (std::map<std::string, int>{{"SAHEL", 4},
                                                {"HORN_OF_AFRICA", 6},
                                                {"NORTH_AFRICA", 4},
                                                {"EASTERN_EUROPE", 6},
                                                {"WESTERN_BALKANS", 5}}));
}

TEST_F(SuiteTest, CacheHitsNeverStaleAndFailsOpen) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  const stats::CountryQuery fn7 = FilterQuery(Statement(7).filter());
  const auto first = Count(*stub, fn7, imported_revision_);
  EXPECT_EQ(first.cache(), stats::CACHE_STATUS_MISS);
  const auto second = Count(*stub, fn7, imported_revision_);
  EXPECT_EQ(second.cache(), stats::CACHE_STATUS_HIT);
  EXPECT_EQ(second.count(), 11);

  // A write, then a query that must see it: never the cached 11.
  coop::DeleteRecordRequest remove;
  remove.set_id("fn07-be");
  coop::DeleteRecordResponse removed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(
        cooperation_stub_->DeleteRecord(&context, remove, &removed).ok());
  }
  const auto after_write = Count(*stub, fn7, removed.revision());
  EXPECT_EQ(after_write.count(), 10);
  EXPECT_EQ(after_write.as_of().cooperation_revision(), removed.revision());
  EXPECT_NE(after_write.cache(), stats::CACHE_STATUS_HIT);

  // Redis gone: answers stay right, computed without the cache (each on a
  // date of its own, so no earlier answer can serve it).
  redis_->Kill();
  for (int day = 1; day <= 5; ++day) {
    const auto without =
        Count(*stub, fn7, removed.revision(), absl::StrCat("2025-08-0", day));
    EXPECT_EQ(without.count(), 10);
    EXPECT_EQ(without.cache(), stats::CACHE_STATUS_BYPASS);
  }
  // Redis back: answers are stored and hit again once the backoff passed.
  ASSERT_TRUE(redis_->Restart().ok());
  bool hit = false;
  const absl::Time give_up = absl::Now() + absl::Seconds(15);
  while (!hit && absl::Now() < give_up) {
    const auto again = Count(*stub, fn7, removed.revision(), "2025-09-01");
    EXPECT_EQ(again.count(), 10);
    hit = again.cache() == stats::CACHE_STATUS_HIT;
    if (!hit) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(hit) << "no cache hit after Redis came back";
}

// One replica's answer moved, MAC and all, under the key of another
// question: the other replica does not serve it, computes, and re-caches.
TEST_F(SuiteTest, AnAnswerMovedToAnotherKeyIsNotServed) {
  StartAggregators(2);
  auto first = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(aggregators_[0]->address()));
  auto second = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(aggregators_[1]->address()));
  const stats::CountryQuery fn15 = FilterQuery(Statement(15).filter());
  const stats::CountryQuery fn7 = FilterQuery(Statement(7).filter());

  ASSERT_EQ(Count(*first, fn15, imported_revision_).cache(),
            stats::CACHE_STATUS_MISS);
  const std::string fn15_key = *redis_->Command({"RANDOMKEY"});
  const std::string fn15_sealed = *redis_->Command({"GET", fn15_key});
  EXPECT_EQ(fn15_sealed[0], '\x01') << "sealed, format version 1";
  ASSERT_EQ(Count(*first, fn7, imported_revision_).cache(),
            stats::CACHE_STATUS_MISS);
  ASSERT_EQ(*redis_->Command({"DBSIZE"}), "2");
  std::string fn7_key = fn15_key;
  while (fn7_key == fn15_key) fn7_key = *redis_->Command({"RANDOMKEY"});
  ASSERT_EQ(*redis_->Command({"SET", fn7_key, fn15_sealed}), "OK");

  const auto moved = Count(*second, fn7, imported_revision_);
  EXPECT_EQ(moved.count(), 11);
  EXPECT_EQ(moved.cache(), stats::CACHE_STATUS_MISS);
  EXPECT_NE(*redis_->Command({"GET", fn7_key}), fn15_sealed);
  const auto again = Count(*second, fn7, imported_revision_);
  EXPECT_EQ(again.count(), 11);
  EXPECT_EQ(again.cache(), stats::CACHE_STATUS_HIT);
  EXPECT_THAT(aggregators_[1]->process().Log(),
              HasSubstr(absl::StrCat("refused the value cached under \"",
                                     fn7_key, "\"")));
}

TEST_F(SuiteTest, ReadYourWritesAndDeadlines) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  coop::CreateRecordRequest create;
  auto* record = create.mutable_record();
  record->set_id("new-no");
  record->set_reporting_country("NO");
  record->set_kind(coop::RECORD_KIND_AGREEMENT_EVALUATION);
  auto* source = record->add_sources();
  source->set_citation("Test");
  coop::CreateRecordResponse created;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(
        cooperation_stub_->CreateRecord(&context, create, &created).ok());
  }
  const auto seen = Count(*stub, FilterQuery(Statement(31).filter()),
                          created.record().revision());
  EXPECT_EQ(seen.footnote(), "FR, SI, and NO, RS.");

  // A revision the store has not written is refused at once, however long
  // the caller would wait, naming both revisions.
  for (const int64_t beyond :
       {created.record().revision() + 100, int64_t{1} << 62}) {
    stats::CountCountriesRequest future;
    *future.mutable_query() = FilterQuery(Statement(31).filter());
    future.set_min_cooperation_revision(beyond);
    stats::CountCountriesResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(20)));
    const absl::Time start = absl::Now();
    const grpc::Status status =
        stub->CountCountries(&context, future, &response);
    EXPECT_LT(absl::Now() - start, absl::Seconds(2));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE)
        << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat(beyond)));
    EXPECT_THAT(status.error_message(),
                HasSubstr(absl::StrCat(created.record().revision())));
  }
}

// Requests that differ only in the order of values, aliases, duplicates
// and unknown fields ask the same question and share one cached answer.
TEST_F(SuiteTest, EquivalentRequestsShareACacheEntry) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  auto ask = [&](const stats::CountCountriesRequest& request) {
    stats::CountCountriesResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(10)));
    const grpc::Status status =
        stub->CountCountries(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  };
  stats::CountCountriesRequest first;
  first.set_min_cooperation_revision(imported_revision_);
  stats::RecordFilter* filter = first.mutable_query()->mutable_filter();
  filter->add_reporting_countries("GR");
  filter->add_reporting_countries("FR");
  filter->add_reporting_countries("AT");
  filter->add_partner_kinds(coop::PARTNER_KIND_EU_AGENCY);
  filter->add_partner_kinds(coop::PARTNER_KIND_INTERNATIONAL_ORGANISATION);
  const auto miss = ask(first);
  EXPECT_EQ(miss.cache(), stats::CACHE_STATUS_MISS);

  stats::CountCountriesRequest second;
  stats::RecordFilter* same = second.mutable_query()->mutable_filter();
  same->add_reporting_countries("fr");
  same->add_reporting_countries("AT");
  same->add_reporting_countries("EL");
  same->add_reporting_countries("at");
  same->add_partner_kinds(coop::PARTNER_KIND_INTERNATIONAL_ORGANISATION);
  same->add_partner_kinds(coop::PARTNER_KIND_EU_AGENCY);
  same->GetReflection()->MutableUnknownFields(same)->AddVarint(1000, 7);
  second.GetReflection()->MutableUnknownFields(&second)->AddLengthDelimited(
      1001, "busting");
  const auto hit = ask(second);
  EXPECT_EQ(hit.cache(), stats::CACHE_STATUS_HIT);
  EXPECT_THAT(hit.countries(), ::testing::ElementsAreArray(miss.countries()));
}

TEST_F(SuiteTest, AFilterWithTooManyValuesIsRefusedNamingTheField) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  stats::CountCountriesRequest request;
  for (int i = 0; i <= domain::kMaxFilterValues; ++i) {
    request.mutable_query()->mutable_filter()->add_tags(absl::StrCat("t-", i));
  }
  stats::CountCountriesResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(10)));
  const grpc::Status status =
      stub->CountCountries(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const auto violations = FieldViolations(FromGrpcStatus(status));
  ASSERT_EQ(violations.size(), 1u) << status.error_message();
  EXPECT_EQ(violations[0].field, "query.filter.tags");
  EXPECT_THAT(violations[0].description,
              HasSubstr(absl::StrCat(domain::kMaxFilterValues)));
}

TEST_F(SuiteTest, BadQueriesNameTheField) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  struct Case {
    stats::CountCountriesRequest request;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({stats::CountCountriesRequest(), "query"});
  {
    stats::CountCountriesRequest request;
    request.mutable_query()->mutable_filter()->add_target_regions("ATLANTIS");
    cases.push_back({request, "query.filter.target_regions[0]"});
  }
  {
    stats::CountCountriesRequest request;
    request.mutable_query()->mutable_filter()->add_kinds(
        static_cast<coop::RecordKind>(77));
    cases.push_back({request, "query.filter.kinds[0]"});
  }
  {
    stats::CountCountriesRequest request;
    request.mutable_query()->mutable_filter();
    request.set_as_of_date("2025-13-01");
    cases.push_back({request, "as_of_date"});
  }
  {
    stats::CountCountriesRequest request;
    stats::CountryQuery* node = request.mutable_query();
    for (int i = 0; i < 12; ++i) {
      node = node->mutable_any_of()->add_queries();
    }
    node->mutable_filter();
    cases.push_back({request, "query"});
  }
  for (const auto& c : cases) {
    stats::CountCountriesResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(10)));
    const grpc::Status status =
        stub->CountCountries(&context, c.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.field << ": " << status.error_message();
    const auto violations = FieldViolations(FromGrpcStatus(status));
    ASSERT_FALSE(violations.empty()) << c.field;
    EXPECT_THAT(violations[0].field, ::testing::StartsWith(c.field));
  }
}

TEST_F(SuiteTest, ThreeReplicasShareTheLoadAndSurviveAKill) {
  const std::string addresses = StartAggregators(3);
  auto channel = thb::testing::TestChannel(addresses);
  auto stub = stats::StatisticsService::NewStub(channel);
  // Each replica syncs before it answers; warm all three.
  std::set<std::string> peers;
  for (int i = 0; i < 30; ++i) {
    stats::CountCountriesRequest request;
    *request.mutable_query() = FilterQuery(Statement(22 + i % 4).filter());
    request.set_min_cooperation_revision(imported_revision_);
    stats::CountCountriesResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(15)));
    ASSERT_TRUE(stub->CountCountries(&context, request, &response).ok());
    peers.insert(context.peer());
  }
  EXPECT_EQ(peers.size(), 3u) << "round_robin reaches every replica";

  std::atomic<bool> done{false};
  std::atomic<int> calls{0};
  std::atomic<int> failures{0};
  std::string failure;
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      const absl::Time stop = absl::Now() + absl::Seconds(4);
      for (int i = 0; !done && absl::Now() < stop && i < 100000; ++i) {
        stats::CountCountriesRequest request;
        *request.mutable_query() =
            FilterQuery(Statement(17 + (i + t) % 5).filter());
        stats::CountCountriesResponse response;
        grpc::ClientContext context;
        context.set_deadline(In(absl::Seconds(5)));
        const grpc::Status status =
            stub->CountCountries(&context, request, &response);
        ++calls;
        if (!status.ok()) {
          if (failures++ == 0) failure = status.error_message();
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(1));
  aggregators_[1]->process().Kill();
  for (auto& thread : load) thread.join();
  done = true;
  EXPECT_GT(calls.load(), 100);
  EXPECT_EQ(failures.load(), 0) << failure;
}

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

// The aggregator refuses to start without what Redis needs; it exits before
// it connects to anything, so nothing else runs.
class AggregatorStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("aggregator-start");
    password_file_ = WriteFile(dir_, "redis-password", kRedisPassword);
    key_file_ = WriteFile(dir_, "cache-hmac-key", kHmacKey);
  }

  // The exit code and log of the aggregator run with `args` and `env`.
  std::pair<int, std::string> Run(
      std::vector<std::string> args,
      const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), {"--port=0", "--health_port=0"});
    for (std::string& arg :
         thb::testing::TestPki::Get().ServerArgs("aggregator")) {
      args.push_back(std::move(arg));
    }
    auto process = Process::Start(THB_AGGREGATOR_BIN, args, env);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return {-1, ""};
    // Signal 0 delivers nothing: this only waits for the exit.
    absl::StatusOr<int> code = process->Signal(0, absl::Seconds(20));
    if (!code.ok()) process->Kill();
    return {code.ok() ? *code : -1, process->Log()};
  }

  std::string dir_;
  std::string password_file_;
  std::string key_file_;
};

TEST_F(AggregatorStartTest, RefusesAnHmacKeyFileShorterThan32Bytes) {
  const std::string key = "31-byte-key-0123456789abcdefghi";
  ASSERT_EQ(key.size(), 31u);
  const std::string short_key = WriteFile(dir_, "short-key", key);
  const auto [code, log] =
      Run({"--redis=127.0.0.1:1",
           absl::StrCat("--redis_password_file=", password_file_)},
          {{"THB_CACHE_HMAC_KEY_FILE", short_key}});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(log, HasSubstr(absl::StrCat("cache HMAC key file \"", short_key,
                                          "\": cache HMAC key: 31 bytes, "
                                          "fewer than the 32")));
  EXPECT_THAT(log, Not(HasSubstr("0123456789abcdefghi")));
}

TEST_F(AggregatorStartTest, RequiresAPasswordFileWithRedis) {
  const auto [code, log] =
      Run({"--redis=127.0.0.1:1",
           absl::StrCat("--cache_hmac_key_file=", key_file_)});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(log, HasSubstr("--redis_password_file is required with --redis"));
}

TEST_F(AggregatorStartTest, RequiresAnHmacKeyFileWithRedis) {
  const auto [code, log] =
      Run({"--redis=127.0.0.1:1",
           absl::StrCat("--redis_password_file=", password_file_)});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(log, HasSubstr("--cache_hmac_key_file is required with --redis"));
}

TEST_F(AggregatorStartTest, RefusesAnEmptyPasswordFileNamingIt) {
  const std::string empty = WriteFile(dir_, "empty-password", "\n");
  const auto [code, log] =
      Run({"--redis=127.0.0.1:1", absl::StrCat("--redis_password_file=", empty),
           absl::StrCat("--cache_hmac_key_file=", key_file_)});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(log, HasSubstr(absl::StrCat("redis password file \"", empty,
                                          "\": holds no password")));
}

}  // namespace
}  // namespace thb
