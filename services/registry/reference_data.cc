#include "services/registry/reference_data.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "domain/country_code.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace thb::registry {
namespace {

using ::thb::registry::v1::Country;
using ::thb::registry::v1::EmnStatus;
using ::thb::registry::v1::EmnStatusPeriod;
using ::thb::registry::v1::Organisation;
using ::thb::registry::v1::OrganisationKind;
using ::thb::registry::v1::Region;
using ::thb::registry::v1::Source;

constexpr char kEurLex[] = "https://eur-lex.europa.eu/eli/dec/2008/381/oj";
constexpr char kEmnPressRelease[] =
    "https://home-affairs.ec.europa.eu/networks/"
    "european-migration-network-emn_en";

// EU Member States (canonical codes) with the date each joined the EU.
struct EuMember {
  const char* code;
  const char* accession;
};
constexpr EuMember kEuMembers[] = {
    {"AT", "1995-01-01"}, {"BE", "1958-01-01"}, {"BG", "2007-01-01"},
    {"CY", "2004-05-01"}, {"CZ", "2004-05-01"}, {"DE", "1958-01-01"},
    {"DK", "1973-01-01"}, {"EE", "2004-05-01"}, {"EL", "1981-01-01"},
    {"ES", "1986-01-01"}, {"FI", "1995-01-01"}, {"FR", "1958-01-01"},
    {"HR", "2013-07-01"}, {"HU", "2004-05-01"}, {"IE", "1973-01-01"},
    {"IT", "1958-01-01"}, {"LT", "2004-05-01"}, {"LU", "1958-01-01"},
    {"LV", "2004-05-01"}, {"MT", "2004-05-01"}, {"NL", "1958-01-01"},
    {"PL", "2004-05-01"}, {"PT", "1986-01-01"}, {"RO", "2007-01-01"},
    {"SE", "1995-01-01"}, {"SI", "2004-05-01"}, {"SK", "2004-05-01"},
};

// The EMN was established by Council Decision 2008/381/EC of 14 May 2008;
// Denmark does not take part. A state that joined the EU later became an
// EMN Member on accession.
constexpr char kEmnEstablished[] = "2008-05-14";

// EMN Observer Countries and the first day of their status. Where the source
// gives only a year or a month, the status starts on its first day.
struct Observer {
  const char* code;
  const char* since;
};
constexpr Observer kObservers[] = {
    {"NO", "2011-01-01"}, {"GE", "2021-03-01"}, {"MD", "2021-03-01"},
    {"UA", "2022-01-01"}, {"ME", "2022-01-01"}, {"AM", "2022-10-27"},
    {"RS", "2023-03-16"}, {"MK", "2024-10-28"}, {"AL", "2025-06-24"},
};

struct RegionSeed {
  const char* id;
  const char* name;
  const char* description;
  std::vector<const char*> countries;
  const char* citation;
  const char* url;
};

std::vector<RegionSeed> RegionSeeds() {
  return {
      {"SAHEL",
       "Sahel",
       "The five countries of the G5 Sahel that the EU's Sahel strategy "
       "addresses.",
       {"BF", "ML", "MR", "NE", "TD"},
       "Council of the EU, Council conclusions on the EU's integrated "
       "strategy in the Sahel (2021)",
       "https://www.consilium.europa.eu/en/policies/sahel-region/"},
      {"HORN_OF_AFRICA",
       "Horn of Africa",
       "The countries covered by the EU Special Representative for the Horn "
       "of Africa.",
       {"DJ", "ER", "ET", "KE", "SD", "SO", "SS", "UG"},
       "Council Decision (CFSP) 2023/1145 appointing the EU Special "
       "Representative for the Horn of Africa",
       "https://eur-lex.europa.eu/eli/dec/2023/1145/oj"},
      {"NORTH_AFRICA",
       "North Africa",
       "Northern Africa as the UN statistics division's M49 standard defines "
       "it.",
       {"DZ", "EG", "EH", "LY", "MA", "SD", "TN"},
       "United Nations Statistics Division, Standard country or area codes "
       "for statistical use (M49)",
       "https://unstats.un.org/unsd/methodology/m49/"},
      {"EASTERN_EUROPE",
       "Eastern Europe",
       "The six partner countries of the EU's Eastern Partnership.",
       {"AM", "AZ", "BY", "GE", "MD", "UA"},
       "European External Action Service, Eastern Partnership",
       "https://www.eeas.europa.eu/eeas/eastern-partnership_en"},
      {"WESTERN_BALKANS",
       "Western Balkans",
       "The Western Balkans partners of the EU's enlargement policy that ISO "
       "3166-1 lists (Kosovo has no ISO 3166-1 code).",
       {"AL", "BA", "ME", "MK", "RS"},
       "European Commission, Enlargement policy: the Western Balkans",
       "https://neighbourhood-enlargement.ec.europa.eu/"},
  };
}

struct OrganisationSeed {
  const char* id;
  const char* name;
  OrganisationKind kind;
  const char* url;
};

constexpr OrganisationSeed kOrganisations[] = {
    {"UNODC", "United Nations Office on Drugs and Crime",
     v1::ORGANISATION_KIND_INTERNATIONAL_ORGANISATION, "https://www.unodc.org"},
    {"OSCE", "Organization for Security and Co-operation in Europe",
     v1::ORGANISATION_KIND_INTERNATIONAL_ORGANISATION, "https://www.osce.org"},
    {"ICMPD", "International Centre for Migration Policy Development",
     v1::ORGANISATION_KIND_INTERNATIONAL_ORGANISATION, "https://www.icmpd.org"},
    {"IOM", "International Organization for Migration",
     v1::ORGANISATION_KIND_INTERNATIONAL_ORGANISATION, "https://www.iom.int"},
    {"UNHCR", "Office of the United Nations High Commissioner for Refugees",
     v1::ORGANISATION_KIND_INTERNATIONAL_ORGANISATION, "https://www.unhcr.org"},
    {"ILO", "International Labour Organization",
     v1::ORGANISATION_KIND_INTERNATIONAL_ORGANISATION, "https://www.ilo.org"},
    {"COUNCIL_OF_EUROPE", "Council of Europe",
     v1::ORGANISATION_KIND_INTERNATIONAL_ORGANISATION, "https://www.coe.int"},
    {"EUROPOL", "European Union Agency for Law Enforcement Cooperation",
     v1::ORGANISATION_KIND_EU_AGENCY, "https://www.europol.europa.eu"},
    {"FRONTEX", "European Border and Coast Guard Agency",
     v1::ORGANISATION_KIND_EU_AGENCY, "https://www.frontex.europa.eu"},
    {"EUROJUST", "European Union Agency for Criminal Justice Cooperation",
     v1::ORGANISATION_KIND_EU_AGENCY, "https://www.eurojust.europa.eu"},
    {"EUAA", "European Union Agency for Asylum",
     v1::ORGANISATION_KIND_EU_AGENCY, "https://euaa.europa.eu"},
    {"CEPOL", "European Union Agency for Law Enforcement Training",
     v1::ORGANISATION_KIND_EU_AGENCY, "https://www.cepol.europa.eu"},
    {"EMPACT", "European Multidisciplinary Platform Against Criminal Threats",
     v1::ORGANISATION_KIND_EU_FRAMEWORK,
     "https://www.consilium.europa.eu/en/policies/eu-fight-against-crime/"},
};

Source MakeSource(const char* citation, const char* url, int footnote = 0) {
  Source source;
  source.set_citation(citation);
  source.set_url(url);
  source.set_footnote(footnote);
  return source;
}

EmnStatusPeriod Period(EmnStatus status, std::string start, Source source) {
  EmnStatusPeriod period;
  period.set_status(status);
  period.set_start_date(std::move(start));
  *period.mutable_source() = std::move(source);
  return period;
}

std::string StringField(const google::protobuf::Struct& entry,
                        const std::string& key) {
  auto it = entry.fields().find(key);
  if (it == entry.fields().end()) return "";
  return it->second.string_value();
}

}  // namespace

absl::StatusOr<ReferenceData> LoadReferenceData(
    const std::string& iso_codes_path) {
  std::ifstream in(iso_codes_path);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the ISO 3166-1 list at \"", iso_codes_path,
                     "\" (Debian package iso-codes)"));
  }
  const std::string json((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  google::protobuf::Struct root;
  if (auto status = google::protobuf::util::JsonStringToMessage(json, &root);
      !status.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("\"", iso_codes_path,
                     "\" is not valid JSON: ", status.message().ToString()));
  }
  auto list = root.fields().find("3166-1");
  if (list == root.fields().end() || !list->second.has_list_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "\"", iso_codes_path, "\" has no \"3166-1\" list of countries"));
  }

  absl::flat_hash_map<std::string, std::string> eu_accession;
  for (const EuMember& member : kEuMembers) {
    eu_accession[member.code] = member.accession;
  }
  absl::flat_hash_map<std::string, std::string> observer_since;
  for (const Observer& observer : kObservers) {
    observer_since[observer.code] = observer.since;
  }
  const Source emn_decision = MakeSource(
      "Council Decision 2008/381/EC establishing a European Migration Network",
      kEurLex);
  const Source emn_observers = MakeSource(
      "EMN, 'About the EMN': EMN Observer Countries", kEmnPressRelease);

  ReferenceData data;
  for (const auto& value : list->second.list_value().values()) {
    const google::protobuf::Struct& entry = value.struct_value();
    Country country;
    const std::string alpha2 = StringField(entry, "alpha_2");
    if (alpha2.size() != 2) {
      return absl::FailedPreconditionError(
          absl::StrCat("\"", iso_codes_path,
                       "\" has an entry without a two-letter alpha_2"));
    }
    country.set_code(domain::EuCodeFromIso(alpha2));
    country.set_iso_alpha2(alpha2);
    country.set_iso_alpha3(StringField(entry, "alpha_3"));
    country.set_iso_numeric(StringField(entry, "numeric"));
    const std::string common_name = StringField(entry, "common_name");
    country.set_name(common_name.empty() ? StringField(entry, "name")
                                         : common_name);
    country.set_official_name(StringField(entry, "official_name"));

    if (auto it = eu_accession.find(country.code()); it != eu_accession.end()) {
      country.set_eu_member(true);
      if (country.code() != "DK") {
        *country.add_emn_history() = Period(
            v1::EMN_STATUS_MEMBER,
            std::max<std::string>(it->second, kEmnEstablished), emn_decision);
      }
    }
    if (auto it = observer_since.find(country.code());
        it != observer_since.end()) {
      *country.add_emn_history() =
          Period(v1::EMN_STATUS_OBSERVER, it->second, emn_observers);
    }
    if (country.code() == "UK") {
      // The United Kingdom took part in the EMN until it left the EU.
      EmnStatusPeriod period =
          Period(v1::EMN_STATUS_MEMBER, kEmnEstablished, emn_decision);
      period.set_end_date("2020-01-31");
      *country.add_emn_history() = std::move(period);
    }
    data.countries.push_back(std::move(country));
  }
  std::sort(
      data.countries.begin(), data.countries.end(),
      [](const Country& a, const Country& b) { return a.code() < b.code(); });

  for (const RegionSeed& seed : RegionSeeds()) {
    Region region;
    region.set_id(seed.id);
    region.set_name(seed.name);
    region.set_description(seed.description);
    std::vector<std::string> codes(seed.countries.begin(),
                                   seed.countries.end());
    std::sort(codes.begin(), codes.end());
    for (auto& code : codes) region.add_country_codes(std::move(code));
    *region.mutable_definition_source() = MakeSource(seed.citation, seed.url);
    data.regions.push_back(std::move(region));
  }
  for (const OrganisationSeed& seed : kOrganisations) {
    Organisation organisation;
    organisation.set_id(seed.id);
    organisation.set_name(seed.name);
    organisation.set_kind(seed.kind);
    organisation.set_url(seed.url);
    data.organisations.push_back(std::move(organisation));
  }
  return data;
}

}  // namespace thb::registry
