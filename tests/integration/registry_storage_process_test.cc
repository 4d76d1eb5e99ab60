// The real thb-registry process and its SQLite file: damaged rows, Watch
// across restarts, and acknowledged writes surviving kill -9.

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/registry_process.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
