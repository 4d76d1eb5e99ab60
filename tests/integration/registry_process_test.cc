// The real thb-registry process on a free port with a real SQLite file,
// called over gRPC: health, contracts, errors on the wire, Watch, a clean
// SIGTERM, and acknowledged writes surviving kill -9.

#include <signal.h>

#include <atomic>
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
#include "tests/support/process.h"
#include "tests/support/test_pki.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
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
  v1::CountryRegistryService::Stub& stub() { return *stub_; }
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
