// Every bound of a registry write, at its limit and one past it.

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/registry_core.h"
#include "tests/registry/registry_core_fixture.h"

namespace thb::registry {
namespace {

using ::testing::HasSubstr;

// The field a refused write names, or "" when it is accepted.
template <typename Result>
std::string RefusedField(const Result& result) {
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
      << result.status();
  auto violations = FieldViolations(result.status());
  return violations.empty() ? result.status().ToString() : violations[0].field;
}

TEST_F(RegistryCoreTest, EveryWritableFieldIsBoundedAtItsLimit) {
  auto region = [&](auto change) {
    v1::CreateRegionRequest request;
    request.mutable_region()->set_id("BOUNDED");
    request.mutable_region()->set_name("Bounded");
    change(*request.mutable_region());
    auto created = core_->CreateRegion(request, Admin());
    if (created.ok()) {
      v1::DeleteRegionRequest remove;
      remove.set_id("BOUNDED");
      EXPECT_TRUE(core_->DeleteRegion(remove, Admin()).ok());
    }
    return RefusedField(created);
  };
  auto source = [](v1::Region& r) { return r.mutable_definition_source(); };
  EXPECT_EQ(region([&](v1::Region& r) {
              source(r)->set_citation(std::string(kMaxCitationLength, 'c'));
              source(r)->set_url(std::string(kMaxUrlLength, 'u'));
              source(r)->set_footnote(kMaxFootnote);
              source(r)->set_accessed_date("2025-06-24");
              r.set_name(std::string(kMaxNameLength, 'n'));
              r.set_description(std::string(kMaxDescriptionLength, 'd'));
            }),
            "");
  EXPECT_EQ(region([&](v1::Region& r) {
              source(r)->set_citation(std::string(kMaxCitationLength + 1, 'c'));
            }),
            "region.definition_source.citation");
  EXPECT_EQ(region([&](v1::Region& r) {
              source(r)->set_url(std::string(kMaxUrlLength + 1, 'u'));
            }),
            "region.definition_source.url");
  EXPECT_EQ(
      region([&](v1::Region& r) { source(r)->set_footnote(kMaxFootnote + 1); }),
      "region.definition_source.footnote");
  EXPECT_EQ(region([&](v1::Region& r) { source(r)->set_footnote(-1); }),
            "region.definition_source.footnote");
  EXPECT_EQ(region([&](v1::Region& r) {
              source(r)->set_accessed_date("2025-02-30");
            }),
            "region.definition_source.accessed_date");
  EXPECT_EQ(region([&](v1::Region& r) {
              r.set_description(std::string(kMaxDescriptionLength + 1, 'd'));
            }),
            "region.description");
  EXPECT_EQ(region([&](v1::Region& r) {
              r.set_name(std::string(kMaxNameLength + 1, 'n'));
            }),
            "region.name");
  EXPECT_EQ(region([&](v1::Region& r) {
              for (size_t i = 0; i <= kMaxRegionCountries; ++i) {
                r.add_country_codes("FR");
              }
            }),
            "region.country_codes");

  auto history = [&](int periods, auto change) {
    v1::UpdateCountryRequest request;
    request.mutable_country()->set_code("NO");
    request.mutable_update_mask()->add_paths("emn_history");
    for (int i = 0; i < periods; ++i) {
      auto* period = request.mutable_country()->add_emn_history();
      period->set_status(v1::EMN_STATUS_OBSERVER);
      period->set_start_date(absl::StrCat(1900 + 2 * i, "-01-01"));
      period->set_end_date(absl::StrCat(1900 + 2 * i, "-12-31"));
    }
    change(*request.mutable_country());
    return RefusedField(core_->UpdateCountry(request, Admin()));
  };
  auto nothing = [](v1::Country&) {};
  EXPECT_EQ(history(static_cast<int>(kMaxEmnHistoryPeriods), nothing), "");
  EXPECT_EQ(history(static_cast<int>(kMaxEmnHistoryPeriods) + 1, nothing),
            "country.emn_history");
  EXPECT_EQ(history(1,
                    [](v1::Country& c) {
                      c.mutable_emn_history(0)->mutable_source()->set_citation(
                          std::string(kMaxCitationLength + 1, 'c'));
                    }),
            "country.emn_history[0].source.citation");
  EXPECT_EQ(
      history(1,
              [](v1::Country& c) {
                c.mutable_emn_history(0)->mutable_source()->set_accessed_date(
                    "yesterday");
              }),
      "country.emn_history[0].source.accessed_date");

  auto organisation = [&](auto change) {
    v1::UpdateOrganisationRequest request;
    request.mutable_organisation()->set_id("IOM");
    request.mutable_organisation()->set_name("IOM");
    request.mutable_organisation()->set_kind(
        v1::ORGANISATION_KIND_INTERNATIONAL_ORGANISATION);
    change(*request.mutable_organisation());
    return RefusedField(core_->UpdateOrganisation(request, Admin()));
  };
  EXPECT_EQ(organisation([](v1::Organisation& o) {
              o.set_url(std::string(kMaxUrlLength, 'u'));
              o.set_name(std::string(kMaxNameLength, 'n'));
            }),
            "");
  EXPECT_EQ(organisation([](v1::Organisation& o) {
              o.set_url(std::string(kMaxUrlLength + 1, 'u'));
            }),
            "organisation.url");
  EXPECT_EQ(organisation([](v1::Organisation& o) {
              o.set_kind(static_cast<v1::OrganisationKind>(77));
            }),
            "organisation.kind");
}

TEST_F(RegistryCoreTest, AResourceOverTheSizeCapIsRefused) {
  // Each field within its own limit, the whole over the cap: 15 periods
  // each citing a long source.
  v1::UpdateCountryRequest request;
  request.mutable_country()->set_code("NO");
  request.mutable_update_mask()->add_paths("emn_history");
  for (int i = 0; i < 15; ++i) {
    auto* period = request.mutable_country()->add_emn_history();
    period->set_status(v1::EMN_STATUS_OBSERVER);
    period->set_start_date(absl::StrCat(1900 + 2 * i, "-01-01"));
    period->set_end_date(absl::StrCat(1900 + 2 * i, "-12-31"));
    period->mutable_source()->set_citation(std::string(500, 'c'));
  }
  // The stored resource is the current one with the new history; make it
  // exactly kMaxResourceBytes, then one byte more.
  v1::GetCountryRequest get;
  get.set_code("NO");
  v1::Country stored = core_->GetCountry(get)->country();
  stored.clear_emn_status();
  stored.clear_region_ids();
  stored.clear_revision();
  stored.clear_etag();
  stored.clear_create_time();
  stored.clear_update_time();
  stored.clear_last_changed_by();
  *stored.mutable_emn_history() = request.country().emn_history();
  const size_t size = stored.ByteSizeLong();
  ASSERT_LT(size, kMaxResourceBytes);
  const size_t pad = kMaxResourceBytes - size;
  ASSERT_LT(pad, 500u);
  auto* last = request.mutable_country()->mutable_emn_history(14);
  last->mutable_source()->set_citation(std::string(500 + pad + 1, 'c'));
  auto over = core_->UpdateCountry(request, Admin());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RefusedField(over), "country");
  EXPECT_THAT(over.status().message(),
              HasSubstr(absl::StrCat(kMaxResourceBytes + 1, " bytes")));
  last->mutable_source()->set_citation(std::string(500 + pad, 'c'));
  auto at_limit = core_->UpdateCountry(request, Admin());
  EXPECT_TRUE(at_limit.ok()) << at_limit.status();
}

TEST_F(RegistryCoreTest, EachKindHoldsAtMostTheCap) {
  v1::ListOrganisationsRequest list;
  const int seeded = core_->ListOrganisations(list)->total_size();
  for (size_t i = seeded; i < kMaxResourcesPerKind; ++i) {
    v1::CreateOrganisationRequest request;
    request.mutable_organisation()->set_id(absl::StrCat("O", i));
    request.mutable_organisation()->set_name("o");
    request.mutable_organisation()->set_kind(v1::ORGANISATION_KIND_NGO);
    ASSERT_TRUE(core_->CreateOrganisation(request, Admin()).ok()) << i;
  }
  v1::CreateOrganisationRequest one_more;
  one_more.mutable_organisation()->set_id("ONE_MORE");
  one_more.mutable_organisation()->set_name("o");
  one_more.mutable_organisation()->set_kind(v1::ORGANISATION_KIND_NGO);
  auto refused = core_->CreateOrganisation(one_more, Admin());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(),
              HasSubstr(absl::StrCat(kMaxResourcesPerKind)));

  CoreOptions options;
  options.history_revisions = kMaxHistoryRevisions + 1;
  auto store = std::make_unique<FakeStore>(&state_);
  EXPECT_EQ(RegistryCore::Open(std::move(store), Reference(), options)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace thb::registry
