// The registry's reads: in memory, under the read lock only.

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/dates.h"
#include "common/errors.h"
#include "common/fingerprint.h"
#include "common/page_token.h"
#include "domain/country_code.h"
#include "domain/emn_status.h"
#include "services/registry/registry_core.h"
#include "services/registry/resource_traits.h"

namespace thb::registry {
namespace {

using v1::Country;
using v1::Organisation;
using v1::Region;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr int kMaxBatchGet = 1000;

// What a list request filters on, without the paging fields.
template <typename Request>
uint64_t FilterHash(Request request) {
  request.clear_page_size();
  request.clear_page_token();
  return MessageFingerprint(request);
}

}  // namespace

absl::StatusOr<std::string> RegistryCore::ResolveCountryCode(
    const std::string& code, const std::string& field) const {
  auto normalized = NormalizeCountryCode(code, field);
  if (!normalized.ok()) return normalized.status();
  const Table& countries = countries_;
  return domain::CanonicalCountry(
             *normalized,
             [&countries](const std::string& c) {
               return countries.count(c) != 0;
             },
             aliases_)
      .value_or(*normalized);
}

absl::StatusOr<v1::Country> RegistryCore::Decorate(const std::string& code,
                                                   const Entry& entry,
                                                   absl::CivilDay day) const {
  auto country = Parse<Country>(code, entry.revision, entry.data);
  if (!country.ok()) return country.status();
  country->set_emn_status(domain::StatusOn(*country, day));
  for (const auto& [id, region_entry] : regions_) {
    auto region = Parse<Region>(id, region_entry.revision, region_entry.data);
    if (!region.ok()) return region.status();
    if (std::binary_search(region->country_codes().begin(),
                           region->country_codes().end(), country->code())) {
      country->add_region_ids(id);
    }
  }
  return country;
}

template <typename T>
absl::StatusOr<T> RegistryCore::Get(const std::string& id) const {
  if (auto status = CheckId(id, "id"); !status.ok()) return status;
  absl::ReaderMutexLock lock(&mu_);
  const Table& table = TableFor(ResourceTraits<T>::kKind);
  auto it = table.find(id);
  if (it == table.end()) return NotFound(ResourceTraits<T>::kType, id);
  return Parse<T>(it->first, it->second.revision, it->second.data);
}

// --- Countries ---

absl::StatusOr<v1::GetCountryResponse> RegistryCore::GetCountry(
    const v1::GetCountryRequest& request) const {
  auto day = ParseDateOrToday(request.as_of_date(), "as_of_date");
  if (!day.ok()) return day.status();
  absl::ReaderMutexLock lock(&mu_);
  auto code = ResolveCountryCode(request.code(), "code");
  if (!code.ok()) return code.status();
  auto it = countries_.find(*code);
  if (it == countries_.end()) return NotFound("country", request.code());
  v1::GetCountryResponse response;
  auto country = Decorate(it->first, it->second, *day);
  if (!country.ok()) return country.status();
  *response.mutable_country() = std::move(*country);
  return response;
}

absl::StatusOr<v1::BatchGetCountriesResponse> RegistryCore::BatchGetCountries(
    const v1::BatchGetCountriesRequest& request) const {
  if (request.codes_size() > kMaxBatchGet) {
    return InvalidArgument(
        "codes", absl::StrCat(request.codes_size(), " codes; the limit is ",
                              kMaxBatchGet));
  }
  auto day = ParseDateOrToday(request.as_of_date(), "as_of_date");
  if (!day.ok()) return day.status();
  absl::ReaderMutexLock lock(&mu_);
  v1::BatchGetCountriesResponse response;
  for (int i = 0; i < request.codes_size(); ++i) {
    auto code =
        ResolveCountryCode(request.codes(i), absl::StrCat("codes[", i, "]"));
    if (!code.ok()) return code.status();
    auto it = countries_.find(*code);
    if (it == countries_.end()) return NotFound("country", request.codes(i));
    auto country = Decorate(it->first, it->second, *day);
    if (!country.ok()) return country.status();
    *response.add_countries() = std::move(*country);
  }
  return response;
}

absl::StatusOr<v1::ListCountriesResponse> RegistryCore::ListCountries(
    const v1::ListCountriesRequest& request) const {
  auto page_size =
      EffectivePageSize(request.page_size(), kDefaultPageSize, kMaxPageSize);
  if (!page_size.ok()) return page_size.status();
  auto after = DecodePageToken(request.page_token(), FilterHash(request));
  if (!after.ok()) return after.status();
  auto day = ParseDateOrToday(request.as_of_date(), "as_of_date");
  if (!day.ok()) return day.status();
  std::set<int> statuses;
  for (int i = 0; i < request.emn_statuses_size(); ++i) {
    const int status = request.emn_statuses(i);
    if (status == v1::EMN_STATUS_UNSPECIFIED ||
        !v1::EmnStatus_IsValid(status)) {
      return InvalidArgument(absl::StrCat("emn_statuses[", i, "]"),
                             absl::StrCat(status, " is not an EMN status"));
    }
    statuses.insert(status);
  }

  absl::ReaderMutexLock lock(&mu_);
  std::set<std::string> region_members;
  if (!request.region_id().empty()) {
    auto region = regions_.find(request.region_id());
    if (region == regions_.end()) {
      return InvalidArgument(
          "region_id",
          absl::StrCat("\"", request.region_id(), "\" is not a region"));
    }
    auto region_message = Parse<Region>(region->first, region->second.revision,
                                        region->second.data);
    if (!region_message.ok()) return region_message.status();
    region_members.insert(region_message->country_codes().begin(),
                          region_message->country_codes().end());
  }

  v1::ListCountriesResponse response;
  response.set_revision(revision_);
  response.set_incarnation(incarnation_);
  PageBudget budget(options_.max_page_bytes);
  int total = 0;
  for (const auto& [code, entry] : countries_) {
    if (!request.region_id().empty() && !region_members.count(code)) continue;
    auto decorated = Decorate(code, entry, *day);
    if (!decorated.ok()) return decorated.status();
    Country country = std::move(*decorated);
    if (!statuses.empty() && !statuses.count(country.emn_status())) continue;
    if (request.has_eu_member() && country.eu_member() != request.eu_member()) {
      continue;
    }
    ++total;
    if (code <= *after && !after->empty()) continue;
    if (response.countries_size() < *page_size &&
        budget.Take(country.ByteSizeLong())) {
      *response.add_countries() = std::move(country);
    } else if (response.next_page_token().empty()) {
      response.set_next_page_token(EncodePageToken(
          response.countries(response.countries_size() - 1).code(),
          FilterHash(request)));
    }
  }
  response.set_total_size(total);
  return response;
}

// --- Regions ---

absl::StatusOr<v1::GetRegionResponse> RegistryCore::GetRegion(
    const v1::GetRegionRequest& request) const {
  auto region = Get<Region>(request.id());
  if (!region.ok()) return region.status();
  v1::GetRegionResponse response;
  *response.mutable_region() = std::move(*region);
  return response;
}

absl::StatusOr<v1::ListRegionsResponse> RegistryCore::ListRegions(
    const v1::ListRegionsRequest& request) const {
  auto page_size =
      EffectivePageSize(request.page_size(), kDefaultPageSize, kMaxPageSize);
  if (!page_size.ok()) return page_size.status();
  auto after = DecodePageToken(request.page_token(), FilterHash(request));
  if (!after.ok()) return after.status();
  absl::ReaderMutexLock lock(&mu_);
  std::string country;
  if (!request.country_code().empty()) {
    auto code = ResolveCountryCode(request.country_code(), "country_code");
    if (!code.ok()) return code.status();
    country = *code;
  }
  v1::ListRegionsResponse response;
  response.set_revision(revision_);
  response.set_incarnation(incarnation_);
  PageBudget budget(options_.max_page_bytes);
  int total = 0;
  for (const auto& [id, entry] : regions_) {
    auto parsed = Parse<Region>(id, entry.revision, entry.data);
    if (!parsed.ok()) return parsed.status();
    Region region = std::move(*parsed);
    if (!country.empty() &&
        !std::binary_search(region.country_codes().begin(),
                            region.country_codes().end(), country)) {
      continue;
    }
    ++total;
    if (!after->empty() && id <= *after) continue;
    if (response.regions_size() < *page_size &&
        budget.Take(region.ByteSizeLong())) {
      *response.add_regions() = std::move(region);
    } else if (response.next_page_token().empty()) {
      response.set_next_page_token(
          EncodePageToken(response.regions(response.regions_size() - 1).id(),
                          FilterHash(request)));
    }
  }
  response.set_total_size(total);
  return response;
}

// --- Organisations ---

absl::StatusOr<v1::GetOrganisationResponse> RegistryCore::GetOrganisation(
    const v1::GetOrganisationRequest& request) const {
  auto organisation = Get<Organisation>(request.id());
  if (!organisation.ok()) return organisation.status();
  v1::GetOrganisationResponse response;
  *response.mutable_organisation() = std::move(*organisation);
  return response;
}

absl::StatusOr<v1::ListOrganisationsResponse> RegistryCore::ListOrganisations(
    const v1::ListOrganisationsRequest& request) const {
  auto page_size =
      EffectivePageSize(request.page_size(), kDefaultPageSize, kMaxPageSize);
  if (!page_size.ok()) return page_size.status();
  auto after = DecodePageToken(request.page_token(), FilterHash(request));
  if (!after.ok()) return after.status();
  std::set<int> kinds;
  for (int i = 0; i < request.kinds_size(); ++i) {
    const int kind = request.kinds(i);
    if (kind == v1::ORGANISATION_KIND_UNSPECIFIED ||
        !v1::OrganisationKind_IsValid(kind)) {
      return InvalidArgument(
          absl::StrCat("kinds[", i, "]"),
          absl::StrCat(kind, " is not an organisation kind"));
    }
    kinds.insert(kind);
  }
  absl::ReaderMutexLock lock(&mu_);
  v1::ListOrganisationsResponse response;
  response.set_revision(revision_);
  response.set_incarnation(incarnation_);
  PageBudget budget(options_.max_page_bytes);
  int total = 0;
  for (const auto& [id, entry] : organisations_) {
    auto parsed = Parse<Organisation>(id, entry.revision, entry.data);
    if (!parsed.ok()) return parsed.status();
    Organisation organisation = std::move(*parsed);
    if (!kinds.empty() && !kinds.count(organisation.kind())) continue;
    ++total;
    if (!after->empty() && id <= *after) continue;
    if (response.organisations_size() < *page_size &&
        budget.Take(organisation.ByteSizeLong())) {
      *response.add_organisations() = std::move(organisation);
    } else if (response.next_page_token().empty()) {
      response.set_next_page_token(EncodePageToken(
          response.organisations(response.organisations_size() - 1).id(),
          FilterHash(request)));
    }
  }
  response.set_total_size(total);
  return response;
}

}  // namespace thb::registry
