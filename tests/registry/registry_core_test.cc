// Seeding, reads, paging and the change log of the registry core.

#include "services/registry/registry_core.h"

#include <set>
#include <string>

#include "absl/status/status.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/registry/registry_core_fixture.h"

namespace thb::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

TEST_F(RegistryCoreTest, SeedsEveryIsoCountryOnceInOneRevision) {
  v1::ListCountriesRequest request;
  EXPECT_EQ(Codes(request).size(), 249u);
  EXPECT_EQ(core_->revision(), 1);
  EXPECT_EQ(store_->commits, 1);

  Reopen();
  EXPECT_EQ(core_->revision(), 1) << "a second start must not seed again";
  EXPECT_EQ(store_->commits, 0);
}

TEST_F(RegistryCoreTest, GreekAliasAnswersTheEuCode) {
  v1::GetCountryRequest request;
  request.set_code("GR");
  auto response = core_->GetCountry(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->country().code(), "EL");
  EXPECT_EQ(response->country().iso_alpha2(), "GR");
  EXPECT_EQ(response->country().emn_status(), v1::EMN_STATUS_MEMBER);
  EXPECT_TRUE(response->country().eu_member());

  request.set_code("gb");
  response = core_->GetCountry(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->country().code(), "UK");
  EXPECT_FALSE(response->country().eu_member());
}

TEST_F(RegistryCoreTest, ObserversOnAGivenDate) {
  v1::ListCountriesRequest request;
  request.add_emn_statuses(v1::EMN_STATUS_OBSERVER);
  request.set_as_of_date("2023-12-31");
  EXPECT_THAT(Codes(request), UnorderedElementsAreArray(
                                  {"NO", "GE", "MD", "UA", "ME", "AM", "RS"}));
  request.set_as_of_date("2025-07-01");
  EXPECT_THAT(Codes(request),
              UnorderedElementsAreArray(
                  {"NO", "GE", "MD", "UA", "ME", "AM", "RS", "MK", "AL"}));
  // Serbia is an Observer from 2023-03-16, not the day before.
  request.set_as_of_date("2023-03-15");
  EXPECT_THAT(Codes(request),
              UnorderedElementsAreArray({"NO", "GE", "MD", "UA", "ME", "AM"}));
}

TEST_F(RegistryCoreTest, MembersAreTheEuWithoutDenmark) {
  v1::ListCountriesRequest request;
  request.add_emn_statuses(v1::EMN_STATUS_MEMBER);
  request.set_as_of_date("2025-07-16");
  const auto members = Codes(request);
  EXPECT_EQ(members.size(), 26u);
  EXPECT_EQ(std::count(members.begin(), members.end(), "DK"), 0);
  EXPECT_EQ(std::count(members.begin(), members.end(), "EL"), 1);

  v1::ListCountriesRequest eu;
  eu.set_eu_member(true);
  EXPECT_EQ(Codes(eu).size(), 27u);
}

TEST_F(RegistryCoreTest, RegionsListTheirMembersAndCountriesTheirRegions) {
  v1::ListCountriesRequest request;
  request.set_region_id("WESTERN_BALKANS");
  EXPECT_THAT(Codes(request), ElementsAre("AL", "BA", "ME", "MK", "RS"));

  v1::GetCountryRequest get;
  get.set_code("SD");
  auto sudan = core_->GetCountry(get);
  ASSERT_TRUE(sudan.ok());
  EXPECT_THAT(sudan->country().region_ids(),
              ElementsAre("HORN_OF_AFRICA", "NORTH_AFRICA"));
}

TEST_F(RegistryCoreTest, PagesReachTheEndWithoutGapsOrRepeats) {
  v1::ListCountriesRequest request;
  request.set_page_size(50);
  std::set<std::string> seen;
  int pages = 0;
  do {
    auto response = core_->ListCountries(request);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->total_size(), 249);
    for (const auto& country : response->countries()) {
      EXPECT_TRUE(seen.insert(country.code()).second) << country.code();
    }
    request.set_page_token(response->next_page_token());
    ++pages;
  } while (!request.page_token().empty());
  EXPECT_EQ(pages, 5);
  EXPECT_EQ(seen.size(), 249u);
}

TEST_F(RegistryCoreTest, BadInputNamesTheFieldAndValue) {
  v1::GetCountryRequest get;
  get.set_code("G1");
  auto malformed = core_->GetCountry(get);
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(malformed.status().message(), HasSubstr("\"G1\""));
  EXPECT_EQ(FieldViolations(malformed.status()).at(0).field, "code");

  get.set_code("XX");
  EXPECT_EQ(core_->GetCountry(get).status().code(),
            absl::StatusCode::kNotFound);

  get.set_code("EL");
  get.set_as_of_date("2023-02-30");
  auto bad_date = core_->GetCountry(get);
  EXPECT_EQ(bad_date.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolations(bad_date.status()).at(0).field, "as_of_date");

  v1::ListCountriesRequest list;
  list.set_page_size(-1);
  auto negative = core_->ListCountries(list);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolations(negative.status()).at(0).field, "page_size");

  list.set_page_size(10);
  list.set_page_token("not-a-token");
  auto token = core_->ListCountries(list);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolations(token.status()).at(0).field, "page_token");

  // A token is bound to the filters it was issued for.
  v1::ListCountriesRequest first;
  first.set_page_size(10);
  auto page = core_->ListCountries(first);
  ASSERT_TRUE(page.ok());
  first.set_page_token(page->next_page_token());
  first.set_eu_member(true);
  EXPECT_EQ(core_->ListCountries(first).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryCoreTest, FailedCommitChangesNothing) {
  store_->fail_commits = true;
  v1::CreateOrganisationRequest request;
  request.mutable_organisation()->set_id("LOST");
  request.mutable_organisation()->set_name("Lost");
  request.mutable_organisation()->set_kind(v1::ORGANISATION_KIND_CSO);
  EXPECT_EQ(core_->CreateOrganisation(request, Admin()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(core_->revision(), 1);
  v1::GetOrganisationRequest get;
  get.set_id("LOST");
  EXPECT_EQ(core_->GetOrganisation(get).status().code(),
            absl::StatusCode::kNotFound);
  auto changes = core_->ChangesAfter(1);
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(changes->changes_size(), 0);
}

TEST_F(RegistryCoreTest, ChangesComeInOrderAndSurviveReopen) {
  CreateOrganisation("A_ONE");
  CreateOrganisation("B_TWO");
  auto changes = core_->ChangesAfter(1);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->changes_size(), 2);
  EXPECT_EQ(changes->changes(0).revision(), 2);
  EXPECT_EQ(changes->changes(0).organisation().id(), "A_ONE");
  EXPECT_EQ(changes->changes(1).revision(), 3);
  EXPECT_EQ(changes->revision(), 3);

  Reopen();
  auto reopened = core_->ChangesAfter(2);
  ASSERT_TRUE(reopened.ok());
  ASSERT_EQ(reopened->changes_size(), 1);
  EXPECT_EQ(reopened->changes(0).organisation().id(), "B_TWO");
}

TEST_F(RegistryCoreTest, CompactedHistoryIsOutOfRange) {
  CoreOptions options;
  options.history_revisions = 3;
  Reopen(options);
  for (const char* id : {"A", "B", "C", "D", "E"}) CreateOrganisation(id);
  EXPECT_EQ(core_->revision(), 6);
  auto old = core_->ChangesAfter(1);
  EXPECT_EQ(old.status().code(), absl::StatusCode::kOutOfRange);
  auto kept = core_->ChangesAfter(3);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->changes_size(), 3);
  EXPECT_EQ(core_->ChangesAfter(-1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryCoreTest, SeedIsOneRevision) {
  auto seed = core_->ChangesAfter(0);
  ASSERT_TRUE(seed.ok());
  // 249 countries, 5 regions and 13 organisations, all at revision 1.
  EXPECT_EQ(seed->changes_size(), 249 + 5 + 13);
  for (const auto& change : seed->changes()) {
    EXPECT_EQ(change.revision(), 1);
    EXPECT_EQ(change.type(), v1::CHANGE_TYPE_CREATED);
  }
}

}  // namespace
}  // namespace thb::registry
