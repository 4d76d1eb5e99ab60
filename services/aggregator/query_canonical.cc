// The one form of every query that asks the same, so that such queries
// share one cached answer.

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "common/dates.h"
#include "services/aggregator/query_engine.h"

namespace thb::aggregator {
namespace {

using stats::v1::CountryQuery;
using stats::v1::RecordFilter;

template <typename Repeated>
void SortUnique(Repeated* values) {
  std::sort(values->begin(), values->end());
  values->erase(std::unique(values->begin(), values->end()), values->end());
}

void CanonicalizeFilter(RecordFilter* filter,
                        const registry::RegistrySnapshot& registry) {
  // A country's code where the registry knows one (a partner id may name an
  // organisation instead).
  auto canonical = [&registry](std::string* code) {
    if (registry.organisations.contains(*code)) return;
    if (std::optional<std::string> country = registry.CanonicalCountry(*code)) {
      *code = *std::move(country);
    }
  };
  for (std::string& id : *filter->mutable_partner_ids()) canonical(&id);
  for (std::string& code : *filter->mutable_reporting_countries()) {
    canonical(&code);
  }
  SortUnique(filter->mutable_kinds());
  SortUnique(filter->mutable_thematic_areas());
  SortUnique(filter->mutable_forms());
  SortUnique(filter->mutable_partner_kinds());
  SortUnique(filter->mutable_partner_ids());
  SortUnique(filter->mutable_target_regions());
  SortUnique(filter->mutable_reporting_countries());
  SortUnique(filter->mutable_emn_statuses());
  SortUnique(filter->mutable_tags());
}

}  // namespace

void CanonicalizeQuery(CountryQuery* query,
                       const registry::RegistrySnapshot& registry) {
  query->DiscardUnknownFields();
  stats::v1::CountryQueryList* list = nullptr;
  switch (query->expr_case()) {
    case CountryQuery::kFilter:
      CanonicalizeFilter(query->mutable_filter(), registry);
      return;
    case CountryQuery::kAllOf:
      list = query->mutable_all_of();
      break;
    case CountryQuery::kAnyOf:
      list = query->mutable_any_of();
      break;
    case CountryQuery::kDifference:
      list = query->mutable_difference();
      break;
    case CountryQuery::EXPR_NOT_SET:
      return;
  }
  for (CountryQuery& child : *list->mutable_queries()) {
    CanonicalizeQuery(&child, registry);
  }
}

namespace {

// What does not decide the answer goes (unknown fields, the wait
// condition); the date is the day the answer is computed for.
template <typename Request>
void CanonicalizeCommon(Request* request, absl::CivilDay as_of) {
  request->DiscardUnknownFields();
  request->set_as_of_date(FormatDate(as_of));
  request->clear_min_cooperation_revision();
}

stats::v1::Measure CanonicalMeasure(stats::v1::Measure measure) {
  return measure == stats::v1::MEASURE_UNSPECIFIED
             ? stats::v1::MEASURE_COUNTRIES
             : measure;
}

}  // namespace

void CanonicalizeRequest(stats::v1::CountCountriesRequest* request,
                         const registry::RegistrySnapshot& registry,
                         absl::CivilDay as_of) {
  CanonicalizeCommon(request, as_of);
  CanonicalizeQuery(request->mutable_query(), registry);
}

void CanonicalizeRequest(stats::v1::BreakdownRequest* request,
                         const registry::RegistrySnapshot& registry,
                         absl::CivilDay as_of) {
  CanonicalizeCommon(request, as_of);
  CanonicalizeQuery(request->mutable_query(), registry);
  request->set_measure(CanonicalMeasure(request->measure()));
}

void CanonicalizeRequest(stats::v1::CrossTabulateRequest* request,
                         const registry::RegistrySnapshot& registry,
                         absl::CivilDay as_of) {
  CanonicalizeCommon(request, as_of);
  CanonicalizeQuery(request->mutable_query(), registry);
  request->set_measure(CanonicalMeasure(request->measure()));
}

void CanonicalizeRequest(stats::v1::ShareRequest* request,
                         const registry::RegistrySnapshot& registry,
                         absl::CivilDay as_of) {
  CanonicalizeCommon(request, as_of);
  CanonicalizeQuery(request->mutable_part(), registry);
  CanonicalizeQuery(request->mutable_whole(), registry);
}

void CanonicalizeRequest(stats::v1::ExplainRequest* request,
                         const registry::RegistrySnapshot& registry,
                         absl::CivilDay as_of) {
  CanonicalizeCommon(request, as_of);
  CanonicalizeQuery(request->mutable_query(), registry);
}

}  // namespace thb::aggregator
