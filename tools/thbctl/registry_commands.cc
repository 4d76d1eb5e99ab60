// thbctl countries, regions and organisations: the registry's reference
// data.

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/dates.h"
#include "tools/thbctl/commands.h"
#include "tools/thbctl/flag_values.h"

namespace thb::thbctl {
namespace {

using registry::v1::Country;
using registry::v1::EmnStatusPeriod;
using registry::v1::Organisation;
using registry::v1::Region;

constexpr int kPageSize = 1000;

// The registry judges statuses on the request's date, by default today.
std::string DateOrToday(const std::string& as_of) {
  return as_of.empty() ? FormatDate(TodayUtc()) : as_of;
}

// The first day of the status the country has on `date`, if a period of its
// history gives it.
std::string StatusSince(const Country& country, const std::string& date) {
  for (const EmnStatusPeriod& period : country.emn_history()) {
    const bool started =
        period.start_date().empty() || period.start_date() <= date;
    const bool ended = !period.end_date().empty() && period.end_date() < date;
    if (started && !ended && period.status() == country.emn_status()) {
      return period.start_date();
    }
  }
  return "";
}

std::string YesNo(bool value) { return value ? "yes" : "no"; }

std::string Describe(const registry::v1::Source& source) {
  std::string text = source.citation();
  if (source.footnote() > 0) absl::StrAppend(&text, ", fn ", source.footnote());
  if (!source.url().empty()) absl::StrAppend(&text, ", ", source.url());
  return text;
}

}  // namespace

absl::Status ListCountries(Clients& clients,
                           registry::v1::ListCountriesRequest request,
                           Format format, std::ostream& out) {
  request.set_page_size(kPageSize);
  const std::string date = DateOrToday(request.as_of_date());
  registry::v1::ListCountriesResponse all;
  absl::Status listed = clients.registry().ForEachPage(
      &RegistryStub::ListCountries, std::move(request),
      [&](registry::v1::ListCountriesResponse& page) {
        all.set_revision(page.revision());
        all.set_total_size(page.total_size());
        for (auto& country : *page.mutable_countries()) {
          *all.add_countries() = std::move(country);
        }
        return absl::OkStatus();
      });
  if (!listed.ok()) return listed;
  if (format == Format::kJson) return PrintJson(all, out);

  Table table({"CODE", "NAME", "EU", "EMN STATUS", "SINCE", "REGIONS"});
  for (const Country& country : all.countries()) {
    table.AddRow({country.code(), country.name(), YesNo(country.eu_member()),
                  ShortName(country.emn_status()), StatusSince(country, date),
                  absl::StrJoin(country.region_ids(), ",")});
  }
  table.Print(out);
  return absl::OkStatus();
}

absl::Status GetCountry(Clients& clients, const std::string& code,
                        const std::string& as_of, Format format,
                        std::ostream& out) {
  registry::v1::GetCountryRequest request;
  request.set_code(absl::AsciiStrToUpper(code));
  request.set_as_of_date(as_of);
  auto response = clients.registry().Call(&RegistryStub::GetCountry, request);
  if (!response.ok()) return response.status();
  const Country& country = response->country();
  if (format == Format::kJson) return PrintJson(country, out);

  std::vector<std::string> history;
  for (const EmnStatusPeriod& period : country.emn_history()) {
    std::string line = absl::StrCat(
        ShortName(period.status()), " ",
        period.start_date().empty() ? "(before records)" : period.start_date(),
        " to ", period.end_date().empty() ? "today" : period.end_date());
    if (!period.source().citation().empty()) {
      absl::StrAppend(&line, " (", Describe(period.source()), ")");
    }
    history.push_back(std::move(line));
  }
  const std::string date = DateOrToday(as_of);
  std::string status =
      absl::StrCat(ShortName(country.emn_status()), " on ", date);
  if (const std::string since = StatusSince(country, date); !since.empty()) {
    absl::StrAppend(&status, " (since ", since, ")");
  }
  PrintDetails(
      {
          {"code", country.code()},
          {"name", country.name()},
          {"official name", country.official_name()},
          {"ISO alpha-2", country.iso_alpha2()},
          {"ISO alpha-3", country.iso_alpha3()},
          {"ISO numeric", country.iso_numeric()},
          {"EU member", YesNo(country.eu_member())},
          {"EMN status", status},
          {"EMN history",
           history.empty() ? "none" : absl::StrJoin(history, "\n")},
          {"regions", absl::StrJoin(country.region_ids(), ", ")},
          {"revision", absl::StrCat(country.revision())},
      },
      out);
  return absl::OkStatus();
}

absl::Status ListRegions(Clients& clients, Format format, std::ostream& out) {
  registry::v1::ListRegionsRequest request;
  request.set_page_size(kPageSize);
  registry::v1::ListRegionsResponse all;
  absl::Status listed = clients.registry().ForEachPage(
      &RegistryStub::ListRegions, request,
      [&](registry::v1::ListRegionsResponse& page) {
        all.set_revision(page.revision());
        all.set_total_size(page.total_size());
        for (auto& region : *page.mutable_regions()) {
          *all.add_regions() = std::move(region);
        }
        return absl::OkStatus();
      });
  if (!listed.ok()) return listed;
  if (format == Format::kJson) return PrintJson(all, out);

  Table table({"ID", "NAME", "COUNTRIES"});
  for (const Region& region : all.regions()) {
    table.AddRow({region.id(), region.name(),
                  absl::StrJoin(region.country_codes(), ",")});
  }
  table.Print(out);
  return absl::OkStatus();
}

absl::Status GetRegion(Clients& clients, const std::string& id, Format format,
                       std::ostream& out) {
  registry::v1::GetRegionRequest request;
  request.set_id(absl::AsciiStrToUpper(id));
  auto response = clients.registry().Call(&RegistryStub::GetRegion, request);
  if (!response.ok()) return response.status();
  const Region& region = response->region();
  if (format == Format::kJson) return PrintJson(region, out);
  PrintDetails({{"id", region.id()},
                {"name", region.name()},
                {"description", region.description()},
                {"countries", absl::StrJoin(region.country_codes(), ", ")},
                {"definition", Describe(region.definition_source())},
                {"revision", absl::StrCat(region.revision())}},
               out);
  return absl::OkStatus();
}

absl::Status ListOrganisations(Clients& clients, Format format,
                               std::ostream& out) {
  registry::v1::ListOrganisationsRequest request;
  request.set_page_size(kPageSize);
  registry::v1::ListOrganisationsResponse all;
  absl::Status listed = clients.registry().ForEachPage(
      &RegistryStub::ListOrganisations, request,
      [&](registry::v1::ListOrganisationsResponse& page) {
        all.set_revision(page.revision());
        all.set_total_size(page.total_size());
        for (auto& organisation : *page.mutable_organisations()) {
          *all.add_organisations() = std::move(organisation);
        }
        return absl::OkStatus();
      });
  if (!listed.ok()) return listed;
  if (format == Format::kJson) return PrintJson(all, out);

  Table table({"ID", "KIND", "NAME", "URL"});
  for (const Organisation& organisation : all.organisations()) {
    table.AddRow({organisation.id(), ShortName(organisation.kind()),
                  organisation.name(), organisation.url()});
  }
  table.Print(out);
  return absl::OkStatus();
}

absl::Status GetOrganisation(Clients& clients, const std::string& id,
                             Format format, std::ostream& out) {
  registry::v1::GetOrganisationRequest request;
  request.set_id(absl::AsciiStrToUpper(id));
  auto response =
      clients.registry().Call(&RegistryStub::GetOrganisation, request);
  if (!response.ok()) return response.status();
  const Organisation& organisation = response->organisation();
  if (format == Format::kJson) return PrintJson(organisation, out);
  PrintDetails({{"id", organisation.id()},
                {"kind", ShortName(organisation.kind())},
                {"name", organisation.name()},
                {"url", organisation.url()},
                {"revision", absl::StrCat(organisation.revision())}},
               out);
  return absl::OkStatus();
}

}  // namespace thb::thbctl
