// The two validators of a CountryQuery (the binary protobuf of one) agree:
// the fast one, which decides without writing anything, passes exactly the
// queries the full one passes; and likewise for one record filter
// (domain::IsValidFilter against domain::ValidateFilter).

#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/record_filter.h"
#include "fuzz/fuzz_support.h"
#include "services/aggregator/query_engine.h"

namespace {

void CheckFilters(const thb::stats::v1::CountryQuery& query, int depth) {
  if (depth > 32) return;
  switch (query.expr_case()) {
    case thb::stats::v1::CountryQuery::kFilter: {
      const bool fast = thb::domain::IsValidFilter(query.filter());
      const absl::Status full = thb::domain::ValidateFilter(
          thb::domain::ToCooperationFilter(query.filter()), "filter");
      THB_FUZZ_CHECK(fast == full.ok(),
                     full.ToString() + "\n" + query.DebugString());
      return;
    }
    case thb::stats::v1::CountryQuery::kAllOf:
      for (const auto& child : query.all_of().queries()) {
        CheckFilters(child, depth + 1);
      }
      return;
    case thb::stats::v1::CountryQuery::kAnyOf:
      for (const auto& child : query.any_of().queries()) {
        CheckFilters(child, depth + 1);
      }
      return;
    case thb::stats::v1::CountryQuery::kDifference:
      for (const auto& child : query.difference().queries()) {
        CheckFilters(child, depth + 1);
      }
      return;
    case thb::stats::v1::CountryQuery::EXPR_NOT_SET:
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  thb::stats::v1::CountryQuery query;
  if (!query.ParseFromArray(data, static_cast<int>(size))) return 0;
  const auto& registry = thb::fuzz::ReferenceSnapshot();
  const bool fast = thb::aggregator::internal::QuickValidQuery(query, registry);
  const absl::Status full =
      thb::aggregator::internal::FullValidateQuery(query, registry, "query");
  THB_FUZZ_CHECK(fast == full.ok(),
                 absl::StrCat("fast: ", fast, "\nfull: ", full.ToString(), "\n",
                              query.DebugString()));
  CheckFilters(query, 0);
  return 0;
}
