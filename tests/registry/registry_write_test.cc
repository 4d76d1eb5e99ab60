// Creates, updates and deletes of the registry core: codes and aliases,
// masks and etags, references between resources.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/registry_core.h"
#include "tests/registry/registry_core_fixture.h"

namespace thb::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST_F(RegistryCoreTest, CreateRefusesDuplicatesAndAliases) {
  v1::CreateCountryRequest request;
  request.mutable_country()->set_code("EL");
  request.mutable_country()->set_name("Greece again");
  EXPECT_EQ(core_->CreateCountry(request, Admin()).status().code(),
            absl::StatusCode::kAlreadyExists);
  request.mutable_country()->set_code("GR");
  EXPECT_EQ(core_->CreateCountry(request, Admin()).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(core_->revision(), 1);
}

// A new or updated country's iso_alpha2 must not take a code or alias
// another country answers to: "FR" would otherwise resolve to the newcomer.
TEST_F(RegistryCoreTest, AliasOfAnotherCountryIsRefusedNamingItsHolder) {
  v1::CreateCountryRequest hijack;
  hijack.mutable_country()->set_code("XA");
  hijack.mutable_country()->set_name("Not France");
  hijack.mutable_country()->set_iso_alpha2("FR");
  auto code_taken = core_->CreateCountry(hijack, Admin());
  EXPECT_EQ(code_taken.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(code_taken.status().message(), HasSubstr("country.iso_alpha2"));
  EXPECT_THAT(code_taken.status().message(), HasSubstr("\"FR\""));
  EXPECT_THAT(code_taken.status().message(), HasSubstr("code of country"));

  hijack.mutable_country()->set_iso_alpha2("gr");
  auto alias_taken = core_->CreateCountry(hijack, Admin());
  EXPECT_EQ(alias_taken.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(alias_taken.status().message(), HasSubstr("\"GR\""));
  EXPECT_THAT(alias_taken.status().message(), HasSubstr("\"EL\""));
  EXPECT_EQ(core_->revision(), 1);

  v1::UpdateCountryRequest update;
  update.mutable_country()->set_code("DE");
  update.mutable_country()->set_iso_alpha2("GB");
  update.mutable_update_mask()->add_paths("iso_alpha2");
  auto update_alias = core_->UpdateCountry(update, Admin());
  EXPECT_EQ(update_alias.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(update_alias.status().message(), HasSubstr("\"UK\""));
  update.mutable_country()->set_iso_alpha2("FR");
  auto update_code = core_->UpdateCountry(update, Admin());
  EXPECT_EQ(update_code.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(update_code.status().message(), HasSubstr("country.iso_alpha2"));
  EXPECT_EQ(core_->revision(), 1);

  // A new alias no one holds, then a second country claiming it.
  hijack.mutable_country()->set_iso_alpha2("XB");
  ASSERT_TRUE(core_->CreateCountry(hijack, Admin()).ok());
  v1::CreateCountryRequest second;
  second.mutable_country()->set_code("XC");
  second.mutable_country()->set_name("Third");
  second.mutable_country()->set_iso_alpha2("XB");
  auto shared = core_->CreateCountry(second, Admin());
  EXPECT_EQ(shared.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(shared.status().message(), HasSubstr("\"XA\""));
  second.mutable_country()->set_code("XB");
  second.mutable_country()->clear_iso_alpha2();
  EXPECT_EQ(core_->CreateCountry(second, Admin()).status().code(),
            absl::StatusCode::kAlreadyExists);

  // The stored conventions keep working, and keeping one's own alias is no
  // conflict.
  v1::UpdateCountryRequest greece;
  greece.mutable_country()->set_code("GR");
  greece.mutable_country()->set_name("Greece");
  greece.mutable_update_mask()->add_paths("name");
  auto renamed = core_->UpdateCountry(greece, Admin());
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ(renamed->country().code(), "EL");
  EXPECT_EQ(renamed->country().iso_alpha2(), "GR");
  for (const auto& [asked, answered] :
       {std::pair{"FR", "FR"}, std::pair{"GR", "EL"}, std::pair{"gb", "UK"},
        std::pair{"XB", "XA"}}) {
    v1::GetCountryRequest get;
    get.set_code(asked);
    auto got = core_->GetCountry(get);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->country().code(), answered) << asked;
  }
}

// A store written before aliases were checked may hold a country whose
// alias is another's code: an exact code still wins.
TEST_F(RegistryCoreTest, ExactCodeWinsOverAStoredConflictingAlias) {
  v1::Country hijack;
  hijack.set_code("XA");
  hijack.set_name("Not France");
  hijack.set_iso_alpha2("FR");
  state_.resources.push_back(
      {ResourceKind::kCountry, "XA", 1, hijack.SerializeAsString()});
  Reopen();
  v1::GetCountryRequest get;
  get.set_code("fr");
  auto france = core_->GetCountry(get);
  ASSERT_TRUE(france.ok()) << france.status();
  EXPECT_EQ(france->country().code(), "FR");

  v1::CreateRegionRequest region;
  region.mutable_region()->set_id("RHINE");
  region.mutable_region()->set_name("Rhine");
  region.mutable_region()->add_country_codes("FR");
  auto created = core_->CreateRegion(region, Admin());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(created->region().country_codes(), ElementsAre("FR"));
}

// Whether `message` or any message inside it carries unknown fields.
bool HasUnknownFields(const google::protobuf::Message& message) {
  const auto* reflection = message.GetReflection();
  if (!reflection->GetUnknownFields(message).empty()) return true;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const auto* field : fields) {
    if (field->cpp_type() !=
        google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        if (HasUnknownFields(
                reflection->GetRepeatedMessage(message, field, i))) {
          return true;
        }
      }
    } else if (HasUnknownFields(reflection->GetMessage(message, field))) {
      return true;
    }
  }
  return false;
}

void AddUnknownField(google::protobuf::Message& message) {
  message.GetReflection()->MutableUnknownFields(&message)->AddLengthDelimited(
      99, std::string(1000, 'u'));
}

TEST_F(RegistryCoreTest, UnknownFieldsAreDiscardedOnWrite) {
  v1::CreateOrganisationRequest create;
  create.mutable_organisation()->set_id("ODD");
  create.mutable_organisation()->set_name("Odd");
  create.mutable_organisation()->set_kind(v1::ORGANISATION_KIND_NGO);
  AddUnknownField(*create.mutable_organisation());
  auto created = core_->CreateOrganisation(create, Admin());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(HasUnknownFields(created->organisation()));

  v1::UpdateCountryRequest update;
  update.mutable_country()->set_code("NO");
  auto* period = update.mutable_country()->add_emn_history();
  period->set_status(v1::EMN_STATUS_OBSERVER);
  period->set_start_date("2011-01-01");
  period->mutable_source()->set_citation("EMN");
  AddUnknownField(*period->mutable_source());
  AddUnknownField(*period);
  AddUnknownField(*update.mutable_country());
  update.mutable_update_mask()->add_paths("emn_history");
  auto updated = core_->UpdateCountry(update, Admin());
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_FALSE(HasUnknownFields(updated->country()));

  v1::CreateRegionRequest region;
  region.mutable_region()->set_id("ODD_REGION");
  region.mutable_region()->set_name("Odd region");
  AddUnknownField(*region.mutable_region()->mutable_definition_source());
  ASSERT_TRUE(core_->CreateRegion(region, Admin()).ok());

  auto changes = core_->ChangesAfter(1);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->changes_size(), 3);
  for (const auto& change : changes->changes()) {
    EXPECT_FALSE(HasUnknownFields(change)) << change.DebugString();
  }
  int checked = 0;
  for (const auto& resource : state_.resources) {
    std::unique_ptr<google::protobuf::Message> stored;
    if (resource.id == "NO") stored = std::make_unique<v1::Country>();
    if (resource.id == "ODD") stored = std::make_unique<v1::Organisation>();
    if (resource.id == "ODD_REGION") stored = std::make_unique<v1::Region>();
    if (stored == nullptr) continue;
    ASSERT_TRUE(stored->ParseFromString(resource.data)) << resource.id;
    EXPECT_FALSE(HasUnknownFields(*stored)) << resource.id;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST_F(RegistryCoreTest, CreatedCountryIsStoredWithRevisionAndEtag) {
  v1::CreateCountryRequest request;
  request.mutable_country()->set_code("XK");
  request.mutable_country()->set_name("Kosovo");
  auto created = core_->CreateCountry(request, Admin());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->country().revision(), 2);
  EXPECT_FALSE(created->country().etag().empty());
  EXPECT_EQ(created->country().emn_status(), v1::EMN_STATUS_NONE);
  EXPECT_TRUE(created->country().has_create_time());
}

TEST_F(RegistryCoreTest, UpdateHonoursMaskAndEtag) {
  v1::GetCountryRequest get;
  get.set_code("NO");
  const v1::Country before = core_->GetCountry(get)->country();

  v1::UpdateCountryRequest stale;
  stale.mutable_country()->set_code("NO");
  stale.mutable_country()->set_etag("0000000000000000");
  stale.mutable_country()->set_name("Norway (renamed)");
  stale.mutable_update_mask()->add_paths("name");
  auto aborted = core_->UpdateCountry(stale, Admin());
  EXPECT_EQ(aborted.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(aborted.status().message(), HasSubstr(before.etag()));

  v1::UpdateCountryRequest bad_mask = stale;
  bad_mask.mutable_country()->set_etag(before.etag());
  bad_mask.mutable_update_mask()->add_paths("code");
  auto refused = core_->UpdateCountry(bad_mask, Admin());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolations(refused.status()).at(0).field,
            "update_mask.paths[1]");

  v1::UpdateCountryRequest good = stale;
  good.mutable_country()->set_etag(before.etag());
  good.mutable_country()->set_official_name("must not change: not in mask");
  auto updated = core_->UpdateCountry(good, Admin());
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->country().name(), "Norway (renamed)");
  EXPECT_EQ(updated->country().official_name(), before.official_name());
  EXPECT_NE(updated->country().etag(), before.etag());
  EXPECT_EQ(updated->country().revision(), 2);
  EXPECT_EQ(updated->country().emn_history_size(), 1);

  // The old etag is now stale.
  EXPECT_EQ(core_->UpdateCountry(good, Admin()).status().code(),
            absl::StatusCode::kAborted);
}

TEST_F(RegistryCoreTest, InvalidHistoryIsRefused) {
  v1::UpdateCountryRequest request;
  request.mutable_country()->set_code("NO");
  auto* period = request.mutable_country()->add_emn_history();
  period->set_status(v1::EMN_STATUS_OBSERVER);
  period->set_start_date("2011-01-01");
  period->set_end_date("2010-01-01");
  request.mutable_update_mask()->add_paths("emn_history");
  auto refused = core_->UpdateCountry(request, Admin());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolations(refused.status()).at(0).field,
            "country.emn_history[0].end_date");
}

TEST_F(RegistryCoreTest, RegionCountriesAreValidatedAndCanonical) {
  v1::CreateRegionRequest request;
  request.mutable_region()->set_id("AEGEAN");
  request.mutable_region()->set_name("Aegean");
  request.mutable_region()->add_country_codes("TR");
  request.mutable_region()->add_country_codes("QQ");
  auto refused = core_->CreateRegion(request, Admin());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolations(refused.status()).at(0).field,
            "region.country_codes[1]");
  EXPECT_THAT(refused.status().message(), HasSubstr("\"QQ\""));

  request.mutable_region()->set_country_codes(1, "GR");
  auto created = core_->CreateRegion(request, Admin());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(created->region().country_codes(), ElementsAre("EL", "TR"));

  v1::DeleteCountryRequest remove;
  remove.set_code("TR");
  auto in_use = core_->DeleteCountry(remove, Admin());
  EXPECT_EQ(in_use.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(in_use.status().message(), HasSubstr("AEGEAN"));
}

TEST_F(RegistryCoreTest, OrganisationLifecycle) {
  const v1::Organisation created = CreateOrganisation("LA_STRADA");
  v1::GetOrganisationRequest get;
  get.set_id("LA_STRADA");
  EXPECT_EQ(core_->GetOrganisation(get)->organisation().name(),
            "Organisation LA_STRADA");

  v1::CreateOrganisationRequest duplicate;
  *duplicate.mutable_organisation() = created;
  EXPECT_EQ(core_->CreateOrganisation(duplicate, Admin()).status().code(),
            absl::StatusCode::kAlreadyExists);

  v1::CreateOrganisationRequest no_kind;
  no_kind.mutable_organisation()->set_id("OTHER");
  no_kind.mutable_organisation()->set_name("Other");
  auto refused = core_->CreateOrganisation(no_kind, Admin());
  EXPECT_EQ(FieldViolations(refused.status()).at(0).field, "organisation.kind");

  v1::DeleteOrganisationRequest remove;
  remove.set_id("LA_STRADA");
  remove.set_etag("stale");
  EXPECT_EQ(core_->DeleteOrganisation(remove, Admin()).status().code(),
            absl::StatusCode::kAborted);
  remove.set_etag(created.etag());
  ASSERT_TRUE(core_->DeleteOrganisation(remove, Admin()).ok());
  EXPECT_EQ(core_->GetOrganisation(get).status().code(),
            absl::StatusCode::kNotFound);

  v1::ListOrganisationsRequest list;
  list.add_kinds(v1::ORGANISATION_KIND_EU_AGENCY);
  auto agencies = core_->ListOrganisations(list);
  ASSERT_TRUE(agencies.ok());
  EXPECT_EQ(agencies->total_size(), 5);
}

// Answers as thb-cooperation would: `cited` ids are cited by record
// "rec-1"; with `down`, it cannot be reached.
class FakeCitations : public Citations {
 public:
  absl::StatusOr<std::optional<std::string>> FirstCitingRecord(
      ResourceKind, const std::string& id, absl::Time) const override {
    ++asked;
    if (down) return absl::UnavailableError("cooperation down");
    if (cited.count(id)) return std::string("rec-1");
    return std::nullopt;
  }

  std::set<std::string> cited;
  bool down = false;
  mutable int asked = 0;
};

TEST_F(RegistryCoreTest, DeletingWhatRecordsCiteIsRefused) {
  FakeCitations citations;
  citations.cited = {"SAHEL", "IOM"};
  CoreOptions options;
  options.citations = &citations;
  Reopen(options);

  v1::DeleteRegionRequest region;
  region.set_id("SAHEL");
  auto refused = core_->DeleteRegion(region, Admin());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("\"rec-1\""));
  EXPECT_EQ(ErrorReason(refused.status()), "REGION_IN_USE");
  v1::DeleteOrganisationRequest organisation;
  organisation.set_id("IOM");
  EXPECT_EQ(
      ErrorReason(core_->DeleteOrganisation(organisation, Admin()).status()),
      "ORGANISATION_IN_USE");
  EXPECT_EQ(core_->revision(), 1);

  // An unknown id is NOT_FOUND without asking.
  const int asked = citations.asked;
  region.set_id("ATLANTIS");
  EXPECT_EQ(core_->DeleteRegion(region, Admin()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(citations.asked, asked);

  citations.down = true;
  organisation.set_id("CEPOL");
  EXPECT_EQ(core_->DeleteOrganisation(organisation, Admin()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(core_->revision(), 1);

  citations.down = false;
  EXPECT_TRUE(core_->DeleteOrganisation(organisation, Admin()).ok());
  region.set_id("NORTH_AFRICA");
  EXPECT_TRUE(core_->DeleteRegion(region, Admin()).ok());
  EXPECT_EQ(core_->revision(), 3);
}

}  // namespace
}  // namespace thb::registry
