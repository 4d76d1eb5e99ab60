#include "bench/synthetic.h"

#include <random>

#include "absl/strings/str_cat.h"

namespace thb::bench {
namespace {

namespace v1 = ::thb::cooperation::v1;

// Weighted choice from a small table.
template <typename T>
struct Weighted {
  T value;
  int weight;
};

template <typename T, size_t N>
const T& Pick(const Weighted<T> (&table)[N], std::mt19937_64& random) {
  int total = 0;
  for (const auto& entry : table) total += entry.weight;
  int roll = std::uniform_int_distribution<int>(0, total - 1)(random);
  for (const auto& entry : table) {
    if (roll < entry.weight) return entry.value;
    roll -= entry.weight;
  }
  return table[N - 1].value;
}

const Weighted<v1::RecordKind> kKinds[] = {
    {v1::RECORD_KIND_MEASURE, 40},
    {v1::RECORD_KIND_GOOD_PRACTICE, 30},
    {v1::RECORD_KIND_CHALLENGE, 20},
    {v1::RECORD_KIND_STRATEGY_REVIEW, 7},
    {v1::RECORD_KIND_AGREEMENT_EVALUATION, 3},
};

const Weighted<v1::CooperationForm> kForms[] = {
    {v1::COOPERATION_FORM_UNSPECIFIED, 20},
    {v1::COOPERATION_FORM_STRUCTURED, 10},
    {v1::COOPERATION_FORM_BILATERAL_AGREEMENT, 10},
    {v1::COOPERATION_FORM_MEMORANDUM_OF_UNDERSTANDING, 8},
    {v1::COOPERATION_FORM_PROTOCOL, 4},
    {v1::COOPERATION_FORM_OPERATIONAL_AD_HOC, 15},
    {v1::COOPERATION_FORM_PROJECT, 20},
    {v1::COOPERATION_FORM_FUNDING_PROGRAMME, 8},
    {v1::COOPERATION_FORM_LIAISON_OFFICER, 5},
};

struct PartnerSeed {
  v1::PartnerKind kind;
  const char* id;
};

const Weighted<PartnerSeed> kPartners[] = {
    {{v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION, "IOM"}, 20},
    {{v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION, "UNODC"}, 15},
    {{v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION, "OSCE"}, 12},
    {{v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION, "ICMPD"}, 6},
    {{v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION, "UNHCR"}, 5},
    {{v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION, "ILO"}, 4},
    {{v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION, "COUNCIL_OF_EUROPE"}, 4},
    {{v1::PARTNER_KIND_EU_AGENCY, "EUROPOL"}, 8},
    {{v1::PARTNER_KIND_EU_AGENCY, "FRONTEX"}, 6},
    {{v1::PARTNER_KIND_EU_AGENCY, "EUROJUST"}, 4},
    {{v1::PARTNER_KIND_EU_AGENCY, "EUAA"}, 2},
    {{v1::PARTNER_KIND_EU_AGENCY, "CEPOL"}, 1},
    {{v1::PARTNER_KIND_EU_FRAMEWORK, "EMPACT"}, 5},
    {{v1::PARTNER_KIND_NGO, ""}, 10},
    {{v1::PARTNER_KIND_CSO, ""}, 6},
    {{v1::PARTNER_KIND_THIRD_COUNTRY, ""}, 8},
};

const Weighted<const char*> kRegions[] = {
    {"SAHEL", 4},          {"HORN_OF_AFRICA", 6},  {"NORTH_AFRICA", 4},
    {"EASTERN_EUROPE", 6}, {"WESTERN_BALKANS", 5},
};

const Weighted<const char*> kTags[] = {
    {"low-trust", 3}, {"cultural-differences", 3},
    {"covid-19", 4},  {"online", 5},
    {"labour", 4},    {"children", 3},
};

}  // namespace

const std::vector<std::string>& SyntheticReportingCountries() {
  static const auto* countries = new std::vector<std::string>{
      "AT", "BE", "BG", "CY", "CZ", "DE", "EE", "EL", "ES", "FI", "FR", "HR",
      "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE",
      "SI", "SK", "NO", "GE", "MD", "UA", "ME", "AM", "RS", "MK", "AL"};
  return *countries;
}

SyntheticRecords::SyntheticRecords(uint64_t seed) : seed_(seed) {}

v1::CooperationRecord SyntheticRecords::Make(int64_t index) {
  std::mt19937_64 random(seed_ * 0x9E3779B97F4A7C15ULL +
                         static_cast<uint64_t>(index));
  const auto& countries = SyntheticReportingCountries();
  // Larger countries report more: a Zipf-like skew over the list.
  std::discrete_distribution<size_t> country([&] {
    std::vector<double> weights;
    for (size_t i = 0; i < countries.size(); ++i) {
      weights.push_back(1.0 / (1.0 + 0.15 * static_cast<double>(i)));
    }
    return std::discrete_distribution<size_t>(weights.begin(), weights.end());
  }());

  v1::CooperationRecord record;
  record.set_id(absl::StrCat("syn-", index));
  record.set_reporting_country(countries[country(random)]);
  record.set_kind(Pick(kKinds, random));
  record.set_title(absl::StrCat("Synthetic record ", index));
  const int areas = std::uniform_int_distribution<int>(1, 3)(random);
  for (int i = 0; i < areas; ++i) {
    record.add_thematic_areas(static_cast<v1::ThematicArea>(
        std::uniform_int_distribution<int>(1, 12)(random)));
  }
  record.set_form(Pick(kForms, random));
  const int partners = std::uniform_int_distribution<int>(0, 3)(random);
  for (int i = 0; i < partners; ++i) {
    const PartnerSeed& seed = Pick(kPartners, random);
    auto* partner = record.add_partners();
    partner->set_kind(seed.kind);
    partner->set_id(seed.id);
  }
  if (std::uniform_int_distribution<int>(0, 2)(random) == 0) {
    record.add_target_regions(Pick(kRegions, random));
  }
  if (std::uniform_int_distribution<int>(0, 3)(random) == 0) {
    record.add_tags(Pick(kTags, random));
  }
  const int start = std::uniform_int_distribution<int>(2015, 2024)(random);
  record.set_start_year(start);
  record.set_end_year(start + std::uniform_int_distribution<int>(0, 4)(random));
  record.set_status(v1::RECORD_STATUS_ONGOING);
  auto* source = record.add_sources();
  source->set_citation("Synthetic data for benchmarks");
  source->set_footnote(static_cast<int32_t>(index % 31) + 1);
  return record;
}

cooperation::v1::Dataset SyntheticDataset(int64_t records, uint64_t seed) {
  cooperation::v1::Dataset dataset;
  dataset.set_title(absl::StrCat("Synthetic cooperation records (", records,
                                 ", seed ", seed, ")"));
  dataset.mutable_source()->set_citation("Synthetic data for benchmarks");
  dataset.mutable_records()->Reserve(static_cast<int>(records));
  SyntheticRecords synthetic(seed);
  for (int64_t i = 0; i < records; ++i) {
    *dataset.add_records() = synthetic.Make(i);
  }
  return dataset;
}

}  // namespace thb::bench
