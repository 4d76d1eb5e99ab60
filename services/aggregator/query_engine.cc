// The engine's entry points: each answer checks its arguments, then computes
// in the room of its idea (query_counting.cc, query_breakdown.cc,
// query_crosstab.cc, query_explain.cc). A request the service has validated
// and canonicalized is computed without being checked again.

#include "services/aggregator/query_engine.h"

#include "services/aggregator/query_engine_internal.h"

namespace thb::aggregator {

using stats::v1::CountryQuery;
using stats::v1::Dimension;
using stats::v1::Measure;

absl::StatusOr<stats::v1::CountCountriesResponse> CountCountries(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, const StopWhen& stop) {
  if (absl::Status status = ValidateQuery(query, registry, "query");
      !status.ok()) {
    return status;
  }
  return internal::ComputeCountCountries(index, registry, as_of, query, stop);
}

absl::StatusOr<stats::v1::BreakdownResponse> Breakdown(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, Dimension dimension,
    Measure measure, const StopWhen& stop) {
  if (absl::Status status =
          internal::ValidateBreakdown(query, registry, dimension, measure);
      !status.ok()) {
    return status;
  }
  return internal::ComputeBreakdown(index, registry, as_of, query, dimension,
                                    measure, stop);
}

absl::StatusOr<stats::v1::CrossTabulateResponse> CrossTabulate(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, Dimension row_dimension,
    Dimension column_dimension, Measure measure, const StopWhen& stop) {
  if (absl::Status status = internal::ValidateCrossTabulate(
          query, registry, row_dimension, column_dimension, measure);
      !status.ok()) {
    return status;
  }
  return internal::ComputeCrossTabulate(index, registry, as_of, query,
                                        row_dimension, column_dimension,
                                        measure, stop);
}

absl::StatusOr<stats::v1::ShareResponse> Share(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& part, const CountryQuery& whole,
    const StopWhen& stop) {
  if (absl::Status status = internal::ValidateShare(part, whole, registry);
      !status.ok()) {
    return status;
  }
  return internal::ComputeShare(index, registry, as_of, part, whole, stop);
}

absl::StatusOr<stats::v1::ExplainResponse> Explain(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, const StopWhen& stop) {
  if (absl::Status status = ValidateQuery(query, registry, "query");
      !status.ok()) {
    return status;
  }
  return internal::ComputeExplain(index, registry, as_of, query, stop);
}

absl::StatusOr<stats::v1::CountCountriesResponse> AnswerRequest(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::CountCountriesRequest& request,
    const StopWhen& stop) {
  return internal::ComputeCountCountries(index, registry, as_of,
                                         request.query(), stop);
}

absl::StatusOr<stats::v1::BreakdownResponse> AnswerRequest(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::BreakdownRequest& request,
    const StopWhen& stop) {
  return internal::ComputeBreakdown(index, registry, as_of, request.query(),
                                    request.dimension(), request.measure(),
                                    stop);
}

absl::StatusOr<stats::v1::CrossTabulateResponse> AnswerRequest(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::CrossTabulateRequest& request,
    const StopWhen& stop) {
  return internal::ComputeCrossTabulate(
      index, registry, as_of, request.query(), request.row_dimension(),
      request.column_dimension(), request.measure(), stop);
}

absl::StatusOr<stats::v1::ShareResponse> AnswerRequest(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::ShareRequest& request,
    const StopWhen& stop) {
  return internal::ComputeShare(index, registry, as_of, request.part(),
                                request.whole(), stop);
}

absl::StatusOr<stats::v1::ExplainResponse> AnswerRequest(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const stats::v1::ExplainRequest& request,
    const StopWhen& stop) {
  return internal::ComputeExplain(index, registry, as_of, request.query(),
                                  stop);
}

}  // namespace thb::aggregator
