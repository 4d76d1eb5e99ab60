#include "services/registry/registry_core.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/reference_data.h"

namespace thb::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

// A RegistryStore in memory that can be told to fail, so the core's
// all-or-nothing behaviour can be checked without a disk.
class FakeStore : public RegistryStore {
 public:
  explicit FakeStore(StoreState* state) : state_(state) {}

  absl::StatusOr<StoreState> Load() override { return *state_; }

  absl::Status Commit(const CommitBatch& batch) override {
    if (fail_commits) return absl::UnavailableError("disk unavailable");
    if (batch.revision != state_->revision + 1) {
      return absl::FailedPreconditionError("revision gap");
    }
    for (const auto& change : batch.changes) {
      auto it =
          std::find_if(state_->resources.begin(), state_->resources.end(),
                       [&](const StoredResource& r) {
                         return r.kind == change.kind && r.id == change.id;
                       });
      if (change.type == ChangeKind::kDeleted) {
        if (it != state_->resources.end()) state_->resources.erase(it);
      } else if (it != state_->resources.end()) {
        it->revision = batch.revision;
        it->data = change.data;
      } else {
        state_->resources.push_back(
            {change.kind, change.id, batch.revision, change.data});
      }
      state_->changes.push_back(change);
    }
    if (batch.compact_through > 0) {
      state_->compacted_revision = batch.compact_through;
      auto& log = state_->changes;
      log.erase(std::remove_if(log.begin(), log.end(),
                               [&](const StoredChange& c) {
                                 return c.revision <= batch.compact_through;
                               }),
                log.end());
    }
    for (const auto& [key, value] : batch.meta) state_->meta[key] = value;
    for (const auto& event : batch.audit) audit.push_back(event);
    state_->revision = batch.revision;
    ++commits;
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<audit::Event>> ReadAudit(
      const audit::Query&) override {
    return audit;
  }
  absl::StatusOr<int> PruneAudit(int64_t, int) override { return 0; }

  bool fail_commits = false;
  int commits = 0;
  // The audit events committed, oldest first.
  std::vector<audit::Event> audit;

 private:
  StoreState* state_;
};

const ReferenceData& Reference() {
  static const auto* data = [] {
    auto loaded = LoadReferenceData(kDefaultIsoCodesPath);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new ReferenceData(std::move(*loaded));
  }();
  return *data;
}

// A write as the service hands it to the core.
audit::Invocation Admin() {
  return {{"spiffe://thb/admin/dev", "ipv4:127.0.0.1:50000"},
          "/thb.registry.v1.CountryRegistryService/Test"};
}

class RegistryCoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(CoreOptions options = {}) {
    auto store = std::make_unique<FakeStore>(&state_);
    store_ = store.get();
    auto core = RegistryCore::Open(std::move(store), Reference(), options);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }

  std::vector<std::string> Codes(const v1::ListCountriesRequest& base) {
    std::vector<std::string> codes;
    v1::ListCountriesRequest request = base;
    request.set_page_size(1000);
    auto response = core_->ListCountries(request);
    EXPECT_TRUE(response.ok()) << response.status();
    for (const auto& country : response->countries()) {
      codes.push_back(country.code());
    }
    return codes;
  }

  v1::Organisation CreateOrganisation(const std::string& id) {
    v1::CreateOrganisationRequest request;
    request.mutable_organisation()->set_id(id);
    request.mutable_organisation()->set_name("Organisation " + id);
    request.mutable_organisation()->set_kind(v1::ORGANISATION_KIND_NGO);
    auto response = core_->CreateOrganisation(request, Admin());
    EXPECT_TRUE(response.ok()) << response.status();
    return response->organisation();
  }

  StoreState state_;
  FakeStore* store_ = nullptr;
  std::unique_ptr<RegistryCore> core_;
};

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
