// The real thb-registry process on a free port with a real SQLite file,
// called over gRPC: health, contracts, errors on the wire, a clean SIGTERM.
// registry_storage_process_test.cc and registry_citation_process_test.cc
// hold the rest.

#include "tests/integration/registry_process.h"

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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
#include "thb/registry/v1/registry_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kService[] = "thb.registry.v1.CountryRegistryService";

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

}  // namespace
}  // namespace thb
