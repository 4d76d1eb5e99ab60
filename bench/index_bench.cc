// The statistics engine over synthetic records: CountCountries, Breakdown
// and CrossTabulate on the in-memory index at 10k, 100k and 1M records; the
// same three questions as SQL over the same records in an indexed SQLite
// table (BM_Sqlite_*), and the count by brute force (domain::Matches over
// every record), for ratios from one run; and the index's memory per record
// at 1M as RSS growth.
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
#include "absl/strings/str_cat.h"
#include "bench/synthetic.h"
#include "benchmark/benchmark.h"
#include "common/sqlite.h"
#include "domain/record_filter.h"
#include "services/aggregator/query_engine.h"
#include "services/aggregator/record_index.h"
#include "services/registry/client/registry_snapshot.h"
#include "services/registry/reference_data.h"

namespace thb::bench {
namespace {

namespace v1 = ::thb::cooperation::v1;
using aggregator::RecordIndex;
using ::thb::sqlite::Database;
using ::thb::sqlite::Options;

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

// The same records in SQLite, in memory (its fastest case: no disk, no
// locking between processes), normalized the way a relational store would
// hold them, indexed for these questions, and ANALYZEd.
Database& SqliteOf(int64_t records) {
  static auto* built = new std::map<int64_t, std::unique_ptr<Database>>();
  auto& db = (*built)[records];
  if (db != nullptr) return *db;
  auto check = [](const absl::Status& status) {
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.ToString().c_str());
      std::abort();
    }
  };
  Options options;
  options.wal = false;
  auto opened = Database::Open(":memory:", options);
  check(opened.status());
  db = std::move(*opened);
  check(db->Exec(R"sql(
    CREATE TABLE records (
      id INTEGER PRIMARY KEY,
      country TEXT NOT NULL,
      kind INTEGER NOT NULL,
      form INTEGER NOT NULL,
      start_year INTEGER NOT NULL,
      end_year INTEGER NOT NULL);
    CREATE TABLE record_areas (
      record INTEGER NOT NULL,
      area INTEGER NOT NULL,
      PRIMARY KEY (record, area)) WITHOUT ROWID;
    CREATE TABLE record_partners (
      record INTEGER NOT NULL,
      kind INTEGER NOT NULL,
      partner TEXT NOT NULL,
      PRIMARY KEY (record, kind, partner)) WITHOUT ROWID;
    BEGIN;
  )sql"));
  SyntheticRecords synthetic(kSeed);
  for (int64_t i = 0; i < records; ++i) {
    const v1::CooperationRecord record = synthetic.Make(i);
    auto insert =
        db->Prepare("INSERT INTO records VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    check(insert.status());
    (*insert)
        ->Bind(1, i)
        .Bind(2, record.reporting_country())
        .Bind(3, static_cast<int64_t>(record.kind()))
        .Bind(4, static_cast<int64_t>(record.form()))
        .Bind(5, static_cast<int64_t>(record.start_year()))
        .Bind(6, static_cast<int64_t>(record.end_year()));
    check((*insert)->Run());
    for (int area : record.thematic_areas()) {
      auto statement =
          db->Prepare("INSERT OR IGNORE INTO record_areas VALUES (?1, ?2)");
      check(statement.status());
      (*statement)->Bind(1, i).Bind(2, static_cast<int64_t>(area));
      check((*statement)->Run());
    }
    for (const auto& partner : record.partners()) {
      auto statement = db->Prepare(
          "INSERT OR IGNORE INTO record_partners VALUES (?1, ?2, ?3)");
      check(statement.status());
      (*statement)
          ->Bind(1, i)
          .Bind(2, static_cast<int64_t>(partner.kind()))
          .Bind(3, partner.id());
      check((*statement)->Run());
    }
  }
  check(db->Exec(R"sql(
    COMMIT;
    CREATE INDEX records_by_kind ON records (kind, country, form);
    CREATE INDEX record_areas_by_area ON record_areas (area, record);
    CREATE INDEX record_partners_by_kind ON record_partners (kind, record);
    ANALYZE;
  )sql"));
  return *db;
}

// ThreeFieldQuery() as SQL: ?1 kind, ?2 thematic area, ?3 partner kind.
constexpr char kSqlSelection[] = R"sql(
  r.kind = ?1
  AND EXISTS (SELECT 1 FROM record_areas a
              WHERE a.record = r.id AND a.area = ?2)
  AND EXISTS (SELECT 1 FROM record_partners p
              WHERE p.record = r.id AND p.kind = ?3)
)sql";

// Runs `sql` with ThreeFieldQuery()'s values bound; returns its rows.
int SqliteRows(Database& db, const std::string& sql) {
  auto statement = db.Prepare(sql);
  if (!statement.ok()) {
    std::fprintf(stderr, "%s\n", statement.status().ToString().c_str());
    std::abort();
  }
  (*statement)
      ->Bind(1, static_cast<int64_t>(v1::RECORD_KIND_GOOD_PRACTICE))
      .Bind(2, static_cast<int64_t>(v1::THEMATIC_AREA_PREVENTION))
      .Bind(3,
            static_cast<int64_t>(v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION));
  int rows = 0;
  while (true) {
    auto row = (*statement)->Step();
    if (!row.ok()) {
      std::fprintf(stderr, "%s\n", row.status().ToString().c_str());
      std::abort();
    }
    if (!*row) break;
    benchmark::DoNotOptimize((*statement)->ColumnInt(0));
    ++rows;
  }
  return rows;
}

// SQLite's plan for `sql`, once per statement, on stderr: what the
// baseline actually does.
void PrintPlan(Database& db, const std::string& sql) {
  static auto* printed = new absl::flat_hash_set<std::string>();
  if (!printed->insert(sql).second) return;
  auto plan = db.Prepare(absl::StrCat("EXPLAIN QUERY PLAN ", sql));
  if (!plan.ok()) return;
  std::fprintf(stderr, "SQLite plan of: %s\n", sql.c_str());
  while (true) {
    auto row = (*plan)->Step();
    if (!row.ok() || !*row) break;
    std::fprintf(stderr, "  %s\n", (*plan)->ColumnText(3).c_str());
  }
}

void SqliteBenchmark(benchmark::State& state, const std::string& sql,
                     const char* counter) {
  Database& db = SqliteOf(state.range(0));
  PrintPlan(db, sql);
  int rows = 0;
  for (auto _ : state) {
    rows = SqliteRows(db, sql);
    benchmark::DoNotOptimize(rows);
  }
  state.counters[counter] = rows;
}

// The reporting countries of the selected records; the index's answer also
// sorts them into Members and Observers and writes the footnote, which the
// SQL leaves out.
void BM_Sqlite_CountCountries(benchmark::State& state) {
  SqliteBenchmark(state,
                  absl::StrCat("SELECT DISTINCT r.country FROM records r WHERE",
                               kSqlSelection),
                  "countries");
}

// Selected records per partner (by id, or by kind for partners without
// one).
void BM_Sqlite_Breakdown(benchmark::State& state) {
  SqliteBenchmark(
      state,
      absl::StrCat("SELECT CASE p.partner WHEN '' THEN '<' || p.kind || '>' "
                   "ELSE p.partner END AS value, COUNT(DISTINCT r.id) "
                   "FROM records r JOIN record_partners p ON p.record = r.id "
                   "WHERE",
                   kSqlSelection, "GROUP BY value"),
      "buckets");
}

// Reporting countries of the selected records per thematic area and form
// (a form given: the index's columns leave out COOPERATION_FORM_UNSPECIFIED);
// only the cells that are not empty.
void BM_Sqlite_CrossTabulate(benchmark::State& state) {
  SqliteBenchmark(
      state,
      absl::StrCat("SELECT t.area, r.form, COUNT(DISTINCT r.country) "
                   "FROM records r JOIN record_areas t ON t.record = r.id "
                   "WHERE",
                   kSqlSelection, "AND r.form <> 0 GROUP BY t.area, r.form"),
      "nonempty_cells");
}

// Each question at 10k, 100k and 1M records, in µs, `repetitions` times,
// reporting the mean, median and spread.
void Sizes(benchmark::internal::Benchmark* benchmark, int repetitions) {
  benchmark->Arg(10000)
      ->Arg(100000)
      ->Arg(1000000)
      ->Unit(benchmark::kMicrosecond)
      ->Repetitions(repetitions)
      ->ReportAggregatesOnly(true);
}
void IndexSizes(benchmark::internal::Benchmark* benchmark) {
  Sizes(benchmark, kRepetitions);
}
// The baselines take longer per call; fewer repetitions keep the run short.
void BaselineSizes(benchmark::internal::Benchmark* benchmark) {
  Sizes(benchmark, 5);
}

// The 1M index first, into a fresh heap, so that its RSS growth is its own.
BENCHMARK(BM_IndexMemory)->Arg(1000000)->Iterations(1);
BENCHMARK(BM_CountCountries)->Apply(IndexSizes);
BENCHMARK(BM_Breakdown)->Apply(IndexSizes);
BENCHMARK(BM_CrossTabulate)->Apply(IndexSizes);
BENCHMARK(BM_Sqlite_CountCountries)->Apply(BaselineSizes);
BENCHMARK(BM_Sqlite_Breakdown)->Apply(BaselineSizes);
BENCHMARK(BM_Sqlite_CrossTabulate)->Apply(BaselineSizes);
BENCHMARK(BM_CountCountriesBruteForce)->Apply(BaselineSizes);

}  // namespace
}  // namespace thb::bench

BENCHMARK_MAIN();
