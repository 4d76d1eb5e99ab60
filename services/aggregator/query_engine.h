#ifndef THB_SERVICES_AGGREGATOR_QUERY_ENGINE_H_
#define THB_SERVICES_AGGREGATOR_QUERY_ENGINE_H_

#include <cstddef>
#include <functional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/aggregator/record_index.h"
#include "services/registry/client/registry_snapshot.h"
#include "thb/stats/v1/stats_service.pb.h"

namespace thb::aggregator {

// Limits on a CountryQuery, so that one request cannot make the engine
// recurse or loop without bound.
inline constexpr int kMaxQueryDepth = 8;
inline constexpr int kMaxQueryNodes = 64;
// Values in all the filters of one query together (each field holds at most
// domain::kMaxFilterValues): every value is a posting to OR over the index.
inline constexpr int kMaxQueryFilterValues = 2048;

// Limits on an answer, whose size grows with the data rather than the
// request: RESOURCE_EXHAUSTED naming the limit when the data would exceed
// it. A narrower query or a coarser dimension answers.
inline constexpr int kMaxBreakdownBuckets = 1000;
// Rows times columns; each cell costs a pass over the selected records.
inline constexpr int kMaxCrossTabulateCells = 10000;
// Records listed by one Explain, with their sources.
inline constexpr int kMaxExplainRecords = 10000;

// When a computation must give up: past `deadline` (DEADLINE_EXCEEDED), or
// once `cancelled` returns true (CANCELLED). The engine looks at both when
// it starts and then every kStopCheckWords words of bitset work, so a
// check costs nothing measurable and a stop comes within microseconds.
struct StopWhen {
  absl::Time deadline = absl::InfiniteFuture();
  // Called from the computing thread; may be empty.
  std::function<bool()> cancelled;
};
inline constexpr size_t kStopCheckWords = 4096;

// Checks `query` (the request field named `field`, e.g. "query" or "part"):
// an expression is set at every node, every list has a query, the tree is
// at most kMaxQueryDepth deep and kMaxQueryNodes large with at most
// kMaxQueryFilterValues filter values in all, every filter passes
// domain::ValidateFilter, and the ids it names exist in `registry`: regions,
// reporting countries (aliases accepted), partner ids (an organisation or a
// country). INVALID_ARGUMENT naming the path of each wrong value
// ("query.all_of.queries[1].filter.target_regions[0]").
absl::Status ValidateQuery(const stats::v1::CountryQuery& query,
                           const registry::RegistrySnapshot& registry,
                           std::string_view field);

// Rewrites a query that ValidateQuery passed into the one form of every
// query that asks the same: country codes and aliases as canonical codes
// (through `registry`, in reporting_countries and partner_ids), every
// repeated field of every filter sorted with duplicates dropped, unknown
// fields dropped. Queries that differ only so become byte-equal, so that
// they share one cached answer; the engine answers both alike.
void CanonicalizeQuery(stats::v1::CountryQuery* query,
                       const registry::RegistrySnapshot& registry);

// The answers of StatisticsService over `index`, with EMN statuses judged on
// `as_of` through `registry`. Each validates its query (ValidateQuery), then
// fills the response but for the revisions of `as_of` and the cache status,
// which the service knows.
//
// Semantics:
// - A filter selects records (see domain::Matches); its countries are the
//   reporting countries of those records. all_of intersects, any_of unites,
//   difference takes the first minus the union of the rest.
// - Countries are in study order: Members by code, Observers by code, then
//   the rest (domain::CountryOrder); footnotes are domain::StudyFootnote.
// - Breakdown, CrossTabulate and Explain look at the records behind the
//   answer: those selected by the filters that add countries (every filter
//   under all_of and any_of, only the first operand's under difference)
//   whose reporting country is in the answer.
// - Dimension values: enum names ("THEMATIC_AREA_PREVENTION"; UNSPECIFIED
//   is no value and has no bucket), ids, country codes, EMN status names of
//   the reporting country on `as_of`, and years. A partner without an id
//   counts under "<" + its kind's name + ">" ("<PARTNER_KIND_CSO>"), so that
//   records naming only a kind of partner stay visible. A record counts in
//   every year of its period; an open side (0) adds no years, so a record
//   2021–0 counts in 2021 only, and one with no years in none.
// - MEASURE_UNSPECIFIED counts countries.
// - Each stops as `stop` says, and refuses answers over the limits above.
absl::StatusOr<stats::v1::CountCountriesResponse> CountCountries(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::CountryQuery& query,
    const StopWhen& stop = StopWhen());

// Buckets by count, largest first, then by value; buckets with a count of
// zero are left out.
absl::StatusOr<stats::v1::BreakdownResponse> Breakdown(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::CountryQuery& query,
    stats::v1::Dimension dimension, stats::v1::Measure measure,
    const StopWhen& stop = StopWhen());

// Rows and columns are the values each dimension has among the records
// behind the answer, sorted by value; a row may count zero in a column.
absl::StatusOr<stats::v1::CrossTabulateResponse> CrossTabulate(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::CountryQuery& query,
    stats::v1::Dimension row_dimension, stats::v1::Dimension column_dimension,
    stats::v1::Measure measure, const StopWhen& stop = StopWhen());

// "5 of 9, 55.6%": the percent rounded to one decimal. An empty whole has
// no share: percent 0 and a text that says so ("0 of 0, no share: the whole
// is empty").
absl::StatusOr<stats::v1::ShareResponse> Share(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::CountryQuery& part,
    const stats::v1::CountryQuery& whole, const StopWhen& stop = StopWhen());

// Per country of the answer, in study order, the records behind it by id,
// with their sources.
absl::StatusOr<stats::v1::ExplainResponse> Explain(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::CountryQuery& query,
    const StopWhen& stop = StopWhen());

// One StatisticsService request, in the steps the service takes in order
// once it has checked what needs no registry (the wait condition, and the
// date, parsed once into `as_of`):
// - ValidateRequest: what the answer above checks for the same arguments,
//   under the request's field names, before anything rewrites them;
// - CanonicalizeRequest: the one form of the request, which keys the cache:
//   its queries as CanonicalizeQuery writes them, unknown fields dropped,
//   the measure's default spelled out, the date `as_of` written out and the
//   wait condition dropped;
// - AnswerRequest: the answer of a request that ValidateRequest passed (and
//   CanonicalizeRequest may have rewritten: its form still passes), computed
//   without checking it again. A request that did not pass must not come
//   here: the engine relies on every list having a query.
absl::Status ValidateRequest(const stats::v1::CountCountriesRequest& request,
                             const registry::RegistrySnapshot& registry);
absl::Status ValidateRequest(const stats::v1::BreakdownRequest& request,
                             const registry::RegistrySnapshot& registry);
absl::Status ValidateRequest(const stats::v1::CrossTabulateRequest& request,
                             const registry::RegistrySnapshot& registry);
absl::Status ValidateRequest(const stats::v1::ShareRequest& request,
                             const registry::RegistrySnapshot& registry);
absl::Status ValidateRequest(const stats::v1::ExplainRequest& request,
                             const registry::RegistrySnapshot& registry);

void CanonicalizeRequest(stats::v1::CountCountriesRequest* request,
                         const registry::RegistrySnapshot& registry,
                         absl::CivilDay as_of);
void CanonicalizeRequest(stats::v1::BreakdownRequest* request,
                         const registry::RegistrySnapshot& registry,
                         absl::CivilDay as_of);
void CanonicalizeRequest(stats::v1::CrossTabulateRequest* request,
                         const registry::RegistrySnapshot& registry,
                         absl::CivilDay as_of);
void CanonicalizeRequest(stats::v1::ShareRequest* request,
                         const registry::RegistrySnapshot& registry,
                         absl::CivilDay as_of);
void CanonicalizeRequest(stats::v1::ExplainRequest* request,
                         const registry::RegistrySnapshot& registry,
                         absl::CivilDay as_of);

absl::StatusOr<stats::v1::CountCountriesResponse> AnswerRequest(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::CountCountriesRequest& request,
    const StopWhen& stop);
absl::StatusOr<stats::v1::BreakdownResponse> AnswerRequest(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::BreakdownRequest& request,
    const StopWhen& stop);
absl::StatusOr<stats::v1::CrossTabulateResponse> AnswerRequest(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::CrossTabulateRequest& request,
    const StopWhen& stop);
absl::StatusOr<stats::v1::ShareResponse> AnswerRequest(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::ShareRequest& request,
    const StopWhen& stop);
absl::StatusOr<stats::v1::ExplainResponse> AnswerRequest(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::ExplainRequest& request,
    const StopWhen& stop);

namespace internal {
// The two halves of ValidateQuery, apart so that a fuzz target can check
// they agree: the quick test that passes a valid query without writing
// anything, and the validator that names every fault.
bool QuickValidQuery(const stats::v1::CountryQuery& query,
                     const registry::RegistrySnapshot& registry);
absl::Status FullValidateQuery(const stats::v1::CountryQuery& query,
                               const registry::RegistrySnapshot& registry,
                               std::string_view field);
}  // namespace internal

}  // namespace thb::aggregator

#endif  // THB_SERVICES_AGGREGATOR_QUERY_ENGINE_H_
