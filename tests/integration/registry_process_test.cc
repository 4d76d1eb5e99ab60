// The real thb-registry process on a free port with a real SQLite file,
// called over gRPC: health, contracts, errors on the wire, Watch, a clean
// SIGTERM, and acknowledged writes surviving kill -9.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/registry/client/registry_mirror.h"
#include "services/registry/registry_core.h"
#include "services/registry/sqlite_registry_store.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using ::thb::testing::Process;
namespace v1 = ::thb::registry::v1;

constexpr char kService[] = "thb.registry.v1.CountryRegistryService";

// One registry process over one database file; Restart() keeps the file.
class Registry {
 public:
  explicit Registry(std::vector<std::string> extra_args = {})
      : dir_(thb::testing::MakeTempDir("registry")),
        extra_args_(std::move(extra_args)) {}

  void Start() {
    const std::string port_file = absl::StrCat(dir_, "/port-", ++starts_);
    std::vector<std::string> args = {
        "--port=0", absl::StrCat("--port_file=", port_file),
        absl::StrCat("--db=", dir_, "/registry.sqlite3"), "--drain=0s",
        "--health_port=0"};
    for (std::string& arg :
         thb::testing::TestPki::Get().ServerArgs("registry")) {
      args.push_back(std::move(arg));
    }
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    auto process = Process::Start(THB_REGISTRY_BIN, args);
    ASSERT_TRUE(process.ok()) << process.status();
    process_ = std::make_unique<Process>(std::move(*process));
    auto port =
        thb::testing::WaitForPortFile(port_file, *process_, absl::Seconds(30));
    ASSERT_TRUE(port.ok()) << port.status();
    address_ = absl::StrCat("127.0.0.1:", *port);
    channel_ = thb::testing::TestChannel(address_);
    stub_ = v1::CountryRegistryService::NewStub(channel_);
  }

  Process& process() { return *process_; }
  const std::string& address() const { return address_; }
  v1::CountryRegistryService::Stub& stub() { return *stub_; }
  std::string db() const { return absl::StrCat(dir_, "/registry.sqlite3"); }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

 private:
  std::string dir_;
  std::vector<std::string> extra_args_;
  int starts_ = 0;
  std::unique_ptr<Process> process_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::CountryRegistryService::Stub> stub_;
};

std::unique_ptr<grpc::ClientContext> Context() {
  return MakeClientContext(absl::Seconds(10));
}

TEST(RegistryProcessTest, HealthReportsLivenessAndReadiness) {
  Registry registry;
  ASSERT_NO_FATAL_FAILURE(registry.Start());
  auto health = grpc::health::v1::Health::NewStub(registry.channel());
  for (const std::string service : {"", kService}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    auto context = Context();
    ASSERT_TRUE(health->Check(context.get(), request, &response).ok());
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING)
        << "service \"" << service << "\"";
  }
}

TEST(RegistryProcessTest, AnswersTheStudyConventions) {
  Registry registry;
  ASSERT_NO_FATAL_FAILURE(registry.Start());

  v1::GetCountryRequest get;
  get.set_code("GR");
  v1::GetCountryResponse greece;
  auto context = Context();
  ASSERT_TRUE(registry.stub().GetCountry(context.get(), get, &greece).ok());
  EXPECT_EQ(greece.country().code(), "EL");
  EXPECT_EQ(greece.country().emn_status(), v1::EMN_STATUS_MEMBER);

  auto observers = [&](const std::string& date) {
    v1::ListCountriesRequest list;
    list.add_emn_statuses(v1::EMN_STATUS_OBSERVER);
    list.set_as_of_date(date);
    v1::ListCountriesResponse response;
    auto context = Context();
    EXPECT_TRUE(
        registry.stub().ListCountries(context.get(), list, &response).ok());
    std::vector<std::string> codes;
    for (const auto& country : response.countries()) {
      codes.push_back(country.code());
    }
    return codes;
  };
  EXPECT_THAT(observers("2023-12-31"),
              UnorderedElementsAre("NO", "GE", "MD", "UA", "ME", "AM", "RS"));
  EXPECT_THAT(observers("2025-07-01"),
              UnorderedElementsAre("NO", "GE", "MD", "UA", "ME", "AM", "RS",
                                   "MK", "AL"));
}

TEST(RegistryProcessTest, ErrorsCarryFieldViolationsOnTheWire) {
  Registry registry;
  ASSERT_NO_FATAL_FAILURE(registry.Start());

  v1::ListCountriesRequest list;
  list.set_page_size(-5);
  v1::ListCountriesResponse response;
  auto context = Context();
  const grpc::Status status =
      registry.stub().ListCountries(context.get(), list, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("-5"));

  // Decode the trailer as any gRPC client would.
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  bool found = false;
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad_request;
    if (any.UnpackTo(&bad_request)) {
      ASSERT_EQ(bad_request.field_violations_size(), 1);
      EXPECT_EQ(bad_request.field_violations(0).field(), "page_size");
      found = true;
    }
  }
  EXPECT_TRUE(found) << details.DebugString();

  v1::GetCountryRequest get;
  get.set_code("XX");
  v1::GetCountryResponse country;
  auto get_context = Context();
  EXPECT_EQ(
      registry.stub().GetCountry(get_context.get(), get, &country).error_code(),
      grpc::StatusCode::NOT_FOUND);
}

// The code "country" of GetCountry over the wire, or the error.
std::string ResolvedOverTheWire(Registry& registry, const std::string& code) {
  v1::GetCountryRequest get;
  get.set_code(code);
  v1::GetCountryResponse response;
  auto context = Context();
  const grpc::Status status =
      registry.stub().GetCountry(context.get(), get, &response);
  if (!status.ok()) return status.error_message();
  return response.country().code();
}

TEST(RegistryProcessTest, AnAliasCannotTakeOverAnotherCountrysCode) {
  Registry registry;
  ASSERT_NO_FATAL_FAILURE(registry.Start());
  v1::CreateCountryRequest create;
  create.mutable_country()->set_code("XA");
  create.mutable_country()->set_name("Not France");
  create.mutable_country()->set_iso_alpha2("FR");
  v1::CreateCountryResponse created;
  auto context = Context();
  const grpc::Status status =
      registry.stub().CreateCountry(context.get(), create, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr("country.iso_alpha2"));
  EXPECT_THAT(status.error_message(), HasSubstr("\"FR\""));

  v1::UpdateCountryRequest update;
  update.mutable_country()->set_code("DE");
  update.mutable_country()->set_iso_alpha2("GR");
  update.mutable_update_mask()->add_paths("iso_alpha2");
  v1::UpdateCountryResponse updated;
  auto update_context = Context();
  const grpc::Status refused =
      registry.stub().UpdateCountry(update_context.get(), update, &updated);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(refused.error_message(), HasSubstr("\"EL\""));

  EXPECT_EQ(ResolvedOverTheWire(registry, "FR"), "FR");
  EXPECT_EQ(ResolvedOverTheWire(registry, "GR"), "EL");
  EXPECT_EQ(ResolvedOverTheWire(registry, "gb"), "UK");
}

// A database written before aliases were checked may hold a country whose
// alias is another's code. The registry and a mirror of it still resolve
// the code to its own country.
TEST(RegistryProcessTest, StoredConflictingAliasLosesToTheExactCode) {
  Registry registry;
  ASSERT_NO_FATAL_FAILURE(registry.Start());
  ASSERT_TRUE(registry.process().Signal(SIGTERM, absl::Seconds(20)).ok());
  {
    auto store = registry::SqliteRegistryStore::Open(registry.db());
    ASSERT_TRUE(store.ok()) << store.status();
    auto state = (*store)->Load();
    ASSERT_TRUE(state.ok()) << state.status();
    v1::Country hijack;
    hijack.set_code("XA");
    hijack.set_name("Not France");
    hijack.set_iso_alpha2("FR");
    registry::CommitBatch batch;
    batch.revision = state->revision + 1;
    batch.changes.push_back({batch.revision, registry::ChangeKind::kCreated,
                             registry::ResourceKind::kCountry, "XA", 1,
                             hijack.SerializeAsString()});
    ASSERT_TRUE((*store)->Commit(batch).ok());
  }
  ASSERT_NO_FATAL_FAILURE(registry.Start());
  EXPECT_EQ(ResolvedOverTheWire(registry, "FR"), "FR");
  EXPECT_EQ(ResolvedOverTheWire(registry, "XA"), "XA");

  registry::RegistryMirror::Options options;
  options.address = "the test registry";
  registry::RegistryMirror mirror(registry.channel(), options);
  mirror.Start();
  auto snapshot = mirror.Snapshot(absl::Now() + absl::Seconds(20));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_TRUE((*snapshot)->countries.contains("XA"));
  EXPECT_EQ((*snapshot)->CanonicalCountry("FR"), "FR");
  EXPECT_EQ((*snapshot)->CanonicalCountry("GR"), "EL");
  mirror.Stop();
}

// A write as large as a legal one reaches the core (which refuses its
// name); one over the receive limit is refused by gRPC before anything
// parses it.
TEST(RegistryProcessTest, ReceivesNoRequestOverTheLargestLegalOne) {
  Registry registry;
  ASSERT_NO_FATAL_FAILURE(registry.Start());
  auto create = [&](size_t request_bytes) {
    v1::CreateOrganisationRequest request;
    request.mutable_organisation()->set_id("HUGE");
    request.mutable_organisation()->set_kind(v1::ORGANISATION_KIND_CSO);
    request.mutable_organisation()->set_name("x");
    const size_t overhead = request.ByteSizeLong() - 1 + 8;
    request.mutable_organisation()->set_name(
        std::string(request_bytes - overhead, 'x'));
    while (request.ByteSizeLong() > request_bytes) {
      request.mutable_organisation()->mutable_name()->pop_back();
    }
    while (request.ByteSizeLong() < request_bytes) {
      request.mutable_organisation()->mutable_name()->push_back('x');
    }
    EXPECT_EQ(request.ByteSizeLong(), request_bytes);
    v1::CreateOrganisationResponse response;
    auto context = Context();
    return registry.stub().CreateOrganisation(context.get(), request,
                                              &response);
  };
  const grpc::Status at_limit = create(registry::kMaxRequestBytes);
  EXPECT_EQ(at_limit.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << at_limit.error_message();
  EXPECT_THAT(at_limit.error_message(), HasSubstr("organisation.name"));
  const grpc::Status over = create(registry::kMaxRequestBytes + 1);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << over.error_message();
}

TEST(RegistryProcessTest, SigtermDrainsAndExitsZero) {
  Registry registry;
  ASSERT_NO_FATAL_FAILURE(registry.Start());
  auto code = registry.process().Signal(SIGTERM, absl::Seconds(20));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << registry.process().Log();
}

v1::Organisation Organisation(const std::string& id) {
  v1::Organisation organisation;
  organisation.set_id(id);
  organisation.set_name(absl::StrCat("Organisation ", id));
  organisation.set_kind(v1::ORGANISATION_KIND_CSO);
  return organisation;
}

// Runs `sql` on the database at `db` with the sqlite3 shell; its output.
std::string Sqlite(const std::string& db, const std::string& sql) {
  const std::string command =
      absl::StrCat("sqlite3 '", db, "' \"", sql, "\" 2>&1");
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) {
    output.append(buffer, n);
  }
  EXPECT_EQ(pclose(pipe), 0) << command << ": " << output;
  return output;
}

// Rows that no longer parse (a damaged page, a bad restore) make an INTERNAL
// error naming the table and id wherever they would be read, and are never
// written back; the rest of the registry keeps serving.
TEST(RegistryProcessTest, CorruptRowsAreInternalErrorsNamingTheirId) {
  Registry registry;
  ASSERT_NO_FATAL_FAILURE(registry.Start());
  v1::CreateOrganisationRequest create;
  *create.mutable_organisation() = Organisation("DAMAGED");
  v1::CreateOrganisationResponse created;
  auto create_context = Context();
  ASSERT_TRUE(registry.stub()
                  .CreateOrganisation(create_context.get(), create, &created)
                  .ok());
  ASSERT_TRUE(registry.process().Signal(SIGTERM, absl::Seconds(20)).ok());
  Sqlite(registry.db(),
         "UPDATE resources SET data = X'FFFF' WHERE kind = 1 AND id = 'FR';"
         "UPDATE changes SET data = X'0A' WHERE id = 'DAMAGED';");
  ASSERT_NO_FATAL_FAILURE(registry.Start());

  auto expect_internal = [](const grpc::Status& status,
                            const std::string& names, const char* call) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << call;
    EXPECT_THAT(status.error_message(), HasSubstr(names)) << call;
  };
  v1::GetCountryRequest get;
  get.set_code("FR");
  v1::GetCountryResponse got;
  auto get_context = Context();
  expect_internal(registry.stub().GetCountry(get_context.get(), get, &got),
                  "resources", "GetCountry");
  EXPECT_THAT(got.DebugString(), Not(HasSubstr("FR")));

  v1::UpdateCountryRequest update;
  update.mutable_country()->set_code("FR");
  update.mutable_country()->set_name("France");
  update.mutable_update_mask()->add_paths("name");
  v1::UpdateCountryResponse updated;
  auto update_context = Context();
  expect_internal(
      registry.stub().UpdateCountry(update_context.get(), update, &updated),
      "\"FR\"", "UpdateCountry");

  v1::ListCountriesRequest list;
  list.set_page_size(1000);
  v1::ListCountriesResponse listed;
  auto list_context = Context();
  expect_internal(
      registry.stub().ListCountries(list_context.get(), list, &listed),
      "\"FR\"", "ListCountries");

  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(10));
  v1::WatchRequest watch;
  watch.set_from_revision(1);
  auto reader = registry.stub().Watch(&watch_context, watch);
  v1::WatchResponse message;
  while (reader->Read(&message)) {
  }
  expect_internal(reader->Finish(), "DAMAGED", "Watch");

  // What did not break still serves.
  EXPECT_EQ(ResolvedOverTheWire(registry, "DE"), "DE");
  EXPECT_EQ(ResolvedOverTheWire(registry, "GR"), "EL");

  // Nothing was written back over the damaged row.
  ASSERT_TRUE(registry.process().Signal(SIGTERM, absl::Seconds(20)).ok());
  EXPECT_EQ(Sqlite(registry.db(),
                   "SELECT hex(data) FROM resources WHERE kind = 1 AND "
                   "id = 'FR';"),
            "FFFF\n");
}

TEST(RegistryProcessTest, WatchResumesInOrderAndRefusesCompactedRevisions) {
  Registry registry({"--history_revisions=5"});
  ASSERT_NO_FATAL_FAILURE(registry.Start());

  std::vector<int64_t> revisions;
  for (int i = 0; i < 8; ++i) {
    v1::CreateOrganisationRequest request;
    *request.mutable_organisation() = Organisation(absl::StrCat("W", i));
    v1::CreateOrganisationResponse response;
    auto context = Context();
    ASSERT_TRUE(registry.stub()
                    .CreateOrganisation(context.get(), request, &response)
                    .ok());
    revisions.push_back(response.organisation().revision());
  }
  ASSERT_EQ(revisions.back(), 9);

  // Resume from revision 6: exactly 7, 8, 9 in order, then the stream waits
  // for the next write and sends it.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  v1::WatchRequest watch;
  watch.set_from_revision(6);
  auto reader = registry.stub().Watch(&context, watch);
  std::vector<std::string> seen;
  v1::WatchResponse message;
  while (seen.size() < 3 && reader->Read(&message)) {
    for (const auto& change : message.changes()) {
      seen.push_back(change.organisation().id());
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"W5", "W6", "W7"}));

  v1::CreateOrganisationRequest later;
  *later.mutable_organisation() = Organisation("LATER");
  v1::CreateOrganisationResponse later_response;
  auto later_context = Context();
  ASSERT_TRUE(
      registry.stub()
          .CreateOrganisation(later_context.get(), later, &later_response)
          .ok());
  ASSERT_TRUE(reader->Read(&message));
  ASSERT_EQ(message.changes_size(), 1);
  EXPECT_EQ(message.changes(0).revision(), 10);
  EXPECT_EQ(message.changes(0).organisation().id(), "LATER");
  context.TryCancel();
  reader->Finish();

  grpc::ClientContext old_context;
  v1::WatchRequest old;
  old.set_from_revision(1);
  auto old_reader = registry.stub().Watch(&old_context, old);
  while (old_reader->Read(&message)) {
  }
  const grpc::Status status = old_reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(status.error_message(), HasSubstr("list again"));
}

// A loopback port that was free a moment ago, for a server another one
// must know the address of before it starts.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  return ntohs(address.sin_port);
}

grpc::Status DeleteRegion(Registry& registry, const std::string& id) {
  v1::DeleteRegionRequest request;
  request.set_id(id);
  v1::DeleteRegionResponse response;
  auto context = Context();
  return registry.stub().DeleteRegion(context.get(), request, &response);
}

grpc::Status DeleteOrganisation(Registry& registry, const std::string& id) {
  v1::DeleteOrganisationRequest request;
  request.set_id(id);
  v1::DeleteOrganisationResponse response;
  auto context = Context();
  return registry.stub().DeleteOrganisation(context.get(), request, &response);
}

// A region or organisation that cooperation records cite cannot be deleted:
// the registry asks the cooperation service, and refuses while it cannot
// learn the answer.
TEST(RegistryProcessTest, ARegionOrOrganisationThatRecordsCiteIsNotDeleted) {
  namespace coop = ::thb::cooperation::v1;
  const int cooperation_port = FreePort();
  Registry registry(
      {absl::StrCat("--cooperation=127.0.0.1:", cooperation_port)});
  ASSERT_NO_FATAL_FAILURE(registry.Start());

  // Cooperation down: no answer, so no deletion.
  const grpc::Status unknown = DeleteOrganisation(registry, "CEPOL");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAVAILABLE)
      << unknown.error_message();
  EXPECT_THAT(unknown.error_message(),
              HasSubstr(absl::StrCat("127.0.0.1:", cooperation_port)));

  thb::testing::ServerProcess cooperation(
      THB_COOPERATION_BIN, thb::testing::MakeTempDir("cooperation"),
      "cooperation",
      {absl::StrCat("--registry=", registry.address()),
       absl::StrCat("--port=", cooperation_port)});
  ASSERT_TRUE(cooperation.Start().ok());
  auto records = coop::CooperationRecordService::NewStub(
      thb::testing::TestChannel(cooperation.address()));
  coop::CreateRecordRequest create;
  coop::CooperationRecord& record = *create.mutable_record();
  record.set_id("cites-sahel-and-iom");
  record.set_reporting_country("FR");
  record.set_kind(coop::RECORD_KIND_MEASURE);
  record.add_thematic_areas(coop::THEMATIC_AREA_LAW_ENFORCEMENT);
  record.set_form(coop::COOPERATION_FORM_OPERATIONAL_AD_HOC);
  record.set_title("Cites SAHEL and IOM");
  record.add_target_regions("SAHEL");
  auto* partner = record.add_partners();
  partner->set_kind(coop::PARTNER_KIND_INTERNATIONAL_ORGANISATION);
  partner->set_id("IOM");
  record.add_sources()->set_citation("Test source");
  grpc::Status created;
  for (int attempt = 0; attempt < 100; ++attempt) {
    coop::CreateRecordResponse response;
    auto context = Context();
    created = records->CreateRecord(context.get(), create, &response);
    if (created.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(created.ok()) << created.error_message();

  for (const grpc::Status& refused :
       {DeleteRegion(registry, "SAHEL"), DeleteOrganisation(registry, "IOM")}) {
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << refused.error_message();
    EXPECT_THAT(refused.error_message(), HasSubstr("cites-sahel-and-iom"));
  }
  v1::GetRegionRequest get;
  get.set_id("SAHEL");
  v1::GetRegionResponse sahel;
  auto get_context = Context();
  EXPECT_TRUE(registry.stub().GetRegion(get_context.get(), get, &sahel).ok());

  // What no record cites goes.
  EXPECT_TRUE(DeleteOrganisation(registry, "CEPOL").ok());
  EXPECT_TRUE(DeleteRegion(registry, "NORTH_AFRICA").ok());

  // Once the record no longer cites them, they go too.
  coop::DeleteRecordRequest remove;
  remove.set_id("cites-sahel-and-iom");
  coop::DeleteRecordResponse removed;
  auto remove_context = Context();
  ASSERT_TRUE(
      records->DeleteRecord(remove_context.get(), remove, &removed).ok());
  EXPECT_TRUE(DeleteRegion(registry, "SAHEL").ok());
  EXPECT_TRUE(DeleteOrganisation(registry, "IOM").ok());
}

// Writes organisations one after another until killed; `acknowledged`
// holds every id the server confirmed, `first` is notified with the first.
void WriteUntilFailure(v1::CountryRegistryService::Stub* stub, int round,
                       std::vector<std::string>* acknowledged,
                       absl::Notification* first) {
  for (int i = 0; i < 100000; ++i) {
    v1::CreateOrganisationRequest request;
    *request.mutable_organisation() =
        Organisation(absl::StrCat("K", round, "_", i));
    v1::CreateOrganisationResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    if (!stub->CreateOrganisation(&context, request, &response).ok()) return;
    acknowledged->push_back(request.organisation().id());
    if (!first->HasBeenNotified()) first->Notify();
  }
}

TEST(RegistryProcessTest, AcknowledgedWritesSurviveKillNine) {
  Registry registry;
  std::mt19937 random(20250716);
  std::vector<std::string> acknowledged;
  for (int round = 0; round < 10; ++round) {
    ASSERT_NO_FATAL_FAILURE(registry.Start());
    std::vector<std::string> this_round;
    absl::Notification first;
    std::thread writer(WriteUntilFailure, &registry.stub(), round, &this_round,
                       &first);
    // The kill lands at a random point of the writes, counted from the first
    // acknowledged one: a slow start (a sanitized build, a loaded machine)
    // must not leave a round with nothing to check.
    first.WaitForNotificationWithTimeout(absl::Seconds(60));
    absl::SleepFor(absl::Milliseconds(
        std::uniform_int_distribution<int>(50, 400)(random)));
    registry.process().Kill();
    writer.join();
    ASSERT_FALSE(this_round.empty())
        << "no write was acknowledged in round " << round << ":\n"
        << registry.process().Log();
    acknowledged.insert(acknowledged.end(), this_round.begin(),
                        this_round.end());

    ASSERT_NO_FATAL_FAILURE(registry.Start());
    for (const auto& id : acknowledged) {
      v1::GetOrganisationRequest get;
      get.set_id(id);
      v1::GetOrganisationResponse response;
      auto context = Context();
      ASSERT_TRUE(
          registry.stub().GetOrganisation(context.get(), get, &response).ok())
          << "acknowledged " << id << " lost after kill -9 in round " << round;
    }
    registry.process().Kill();
  }
}

}  // namespace
}  // namespace thb
