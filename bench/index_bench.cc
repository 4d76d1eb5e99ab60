// The statistics engine over synthetic records: CountCountries, Breakdown
// and CrossTabulate on the in-memory index at 10k, 100k and 1M records, the
// same count by brute force (domain::Matches over every record) for a
// ratio, and the index's memory per record at 1M as RSS growth.
//
//   index_bench --benchmark_repetitions=... (each benchmark already repeats
//   and reports mean, median and spread)

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "bench/synthetic.h"
#include "benchmark/benchmark.h"
#include "domain/record_filter.h"
#include "services/aggregator/query_engine.h"
#include "services/aggregator/record_index.h"
#include "services/registry/client/registry_mirror.h"
#include "services/registry/reference_data.h"

namespace thb::bench {
namespace {

namespace v1 = ::thb::cooperation::v1;
using aggregator::RecordIndex;

constexpr uint64_t kSeed = 1;
constexpr int kRepetitions = 15;
const absl::CivilDay kAsOf(2025, 7, 16);

const registry::RegistrySnapshot& Registry() {
  static const registry::RegistrySnapshot* snapshot = [] {
    auto reference =
        registry::LoadReferenceData(registry::kDefaultIsoCodesPath);
    if (!reference.ok()) {
      std::fprintf(stderr, "%s\n", reference.status().ToString().c_str());
      std::abort();
    }
    auto* built = new registry::RegistrySnapshot();
    for (const auto& country : reference->countries) {
      built->countries[country.code()] = country;
      if (country.iso_alpha2() != country.code()) {
        built->aliases[country.iso_alpha2()] = country.code();
      }
    }
    for (const auto& region : reference->regions) {
      built->regions[region.id()] = region;
    }
    for (const auto& organisation : reference->organisations) {
      built->organisations[organisation.id()] = organisation;
    }
    return built;
  }();
  return *snapshot;
}

// Resident set size, from /proc/self/statm (pages).
int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0;
  int64_t resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

struct BuiltIndex {
  std::unique_ptr<RecordIndex> index;
  int64_t rss_growth = 0;
};

// One index per size, built once; records are made and dropped one at a
// time so that the RSS growth is the index's.
const BuiltIndex& IndexOf(int64_t records) {
  static auto* built = new std::map<int64_t, BuiltIndex>();
  auto it = built->find(records);
  if (it != built->end()) return it->second;
  SyntheticRecords synthetic(kSeed);
  const int64_t before = ResidentBytes();
  auto index = std::make_unique<RecordIndex>();
  for (int64_t i = 0; i < records; ++i) {
    v1::CooperationRecord record = synthetic.Make(i);
    record.set_revision(i + 1);
    index->Upsert(record);
  }
  const int64_t growth = ResidentBytes() - before;
  return (*built)[records] = BuiltIndex{std::move(index), growth};
}

const std::vector<v1::CooperationRecord>& RecordsOf(int64_t records) {
  static auto* built =
      new std::map<int64_t, std::vector<v1::CooperationRecord>>();
  auto& vector = (*built)[records];
  if (vector.empty()) {
    SyntheticRecords synthetic(kSeed);
    vector.reserve(records);
    for (int64_t i = 0; i < records; ++i) vector.push_back(synthetic.Make(i));
  }
  return vector;
}

// Good practices in prevention with an international organisation.
stats::v1::CountryQuery ThreeFieldQuery() {
  stats::v1::CountryQuery query;
  auto* filter = query.mutable_filter();
  filter->add_kinds(v1::RECORD_KIND_GOOD_PRACTICE);
  filter->add_thematic_areas(v1::THEMATIC_AREA_PREVENTION);
  filter->add_partner_kinds(v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION);
  return query;
}

void BM_IndexMemory(benchmark::State& state) {
  const int64_t records = state.range(0);
  const BuiltIndex& built = IndexOf(records);
  for (auto _ : state) {
    benchmark::DoNotOptimize(built.index->size());
  }
  state.counters["records"] = static_cast<double>(built.index->size());
  state.counters["rss_bytes_per_record"] =
      static_cast<double>(built.rss_growth) / static_cast<double>(records);
  state.counters["estimated_bytes_per_record"] =
      static_cast<double>(built.index->MemoryBytes()) /
      static_cast<double>(records);
}

void BM_CountCountries(benchmark::State& state) {
  const RecordIndex& index = *IndexOf(state.range(0)).index;
  const stats::v1::CountryQuery query = ThreeFieldQuery();
  int count = 0;
  for (auto _ : state) {
    auto response = aggregator::CountCountries(index, Registry(), kAsOf, query);
    count = response->count();
    benchmark::DoNotOptimize(count);
  }
  state.counters["countries"] = count;
}

void BM_CountCountriesBruteForce(benchmark::State& state) {
  const auto& records = RecordsOf(state.range(0));
  const v1::RecordFilter filter =
      domain::ToCooperationFilter(ThreeFieldQuery().filter());
  absl::flat_hash_map<std::string, registry::v1::EmnStatus> statuses;
  for (const auto& code : SyntheticReportingCountries()) {
    statuses[code] = Registry().StatusOn(code, kAsOf);
  }
  size_t count = 0;
  for (auto _ : state) {
    absl::flat_hash_set<std::string> countries;
    for (const auto& record : records) {
      if (domain::Matches(record, filter,
                          statuses.at(record.reporting_country()))) {
        countries.insert(record.reporting_country());
      }
    }
    count = countries.size();
    benchmark::DoNotOptimize(count);
  }
  state.counters["countries"] = static_cast<double>(count);
}

void BM_Breakdown(benchmark::State& state) {
  const RecordIndex& index = *IndexOf(state.range(0)).index;
  const stats::v1::CountryQuery query = ThreeFieldQuery();
  int buckets = 0;
  for (auto _ : state) {
    auto response = aggregator::Breakdown(index, Registry(), kAsOf, query,
                                          stats::v1::DIMENSION_PARTNER,
                                          stats::v1::MEASURE_RECORDS);
    buckets = response->buckets_size();
    benchmark::DoNotOptimize(buckets);
  }
  state.counters["buckets"] = buckets;
}

void BM_CrossTabulate(benchmark::State& state) {
  const RecordIndex& index = *IndexOf(state.range(0)).index;
  const stats::v1::CountryQuery query = ThreeFieldQuery();
  int cells = 0;
  for (auto _ : state) {
    auto response = aggregator::CrossTabulate(
        index, Registry(), kAsOf, query, stats::v1::DIMENSION_THEMATIC_AREA,
        stats::v1::DIMENSION_FORM, stats::v1::MEASURE_COUNTRIES);
    cells = response->rows_size() * response->column_values_size();
    benchmark::DoNotOptimize(cells);
  }
  state.counters["cells"] = cells;
}

// The 1M index first, into a fresh heap, so that its RSS growth is its own.
BENCHMARK(BM_IndexMemory)->Arg(1000000)->Iterations(1);
BENCHMARK(BM_CountCountries)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_Breakdown)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_CrossTabulate)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_CountCountriesBruteForce)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

}  // namespace
}  // namespace thb::bench

BENCHMARK_MAIN();
