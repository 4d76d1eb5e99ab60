// Whether a query, and the other arguments of an answer, may be answered:
// the quick pass that nearly every request takes, and the validator that
// names every fault of the others.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/string_view.h"
#include "domain/record_filter.h"
#include "services/aggregator/query_engine.h"
#include "services/aggregator/query_engine_internal.h"

namespace thb::aggregator {
namespace {

using stats::v1::CountryQuery;
using stats::v1::Dimension;
using stats::v1::Measure;
using stats::v1::RecordFilter;

int FilterValues(const RecordFilter& filter) {
  return filter.kinds_size() + filter.thematic_areas_size() +
         filter.forms_size() + filter.partner_kinds_size() +
         filter.partner_ids_size() + filter.target_regions_size() +
         filter.reporting_countries_size() + filter.emn_statuses_size() +
         filter.tags_size();
}

struct PendingFilter {
  const RecordFilter* filter;
  std::string path;
};

class QueryValidator {
 public:
  QueryValidator(const registry::RegistrySnapshot& registry,
                 std::string_view field)
      : registry_(registry), field_(field) {}

  absl::Status Validate(const CountryQuery& query) {
    if (absl::Status shape = CheckShape(query, field_, 1); !shape.ok()) {
      return shape;
    }
    int64_t values = 0;
    for (const PendingFilter& pending : filters_) {
      values += FilterValues(*pending.filter);
    }
    if (values > kMaxQueryFilterValues) {
      return InvalidArgument(
          field_, absl::StrCat("has ", values,
                               " filter values in all, more than the limit of ",
                               kMaxQueryFilterValues));
    }
    std::vector<FieldViolation> violations;
    for (const PendingFilter& pending : filters_) {
      CheckFilter(*pending.filter, pending.path, violations);
    }
    if (violations.empty()) return absl::OkStatus();
    return InvalidArgument(std::move(violations));
  }

 private:
  absl::Status CheckShape(const CountryQuery& query, const std::string& path,
                          int depth) {
    if (depth > kMaxQueryDepth) {
      return InvalidArgument(field_,
                             absl::StrCat("is nested deeper than the limit of ",
                                          kMaxQueryDepth, " levels"));
    }
    if (++nodes_ > kMaxQueryNodes) {
      return InvalidArgument(
          field_, absl::StrCat("has more than the limit of ", kMaxQueryNodes,
                               " queries in all"));
    }
    const stats::v1::CountryQueryList* list = nullptr;
    std::string list_path;
    switch (query.expr_case()) {
      case CountryQuery::EXPR_NOT_SET:
        return InvalidArgument(path, "is empty");
      case CountryQuery::kFilter:
        filters_.push_back({&query.filter(), absl::StrCat(path, ".filter")});
        return absl::OkStatus();
      case CountryQuery::kAllOf:
        list = &query.all_of();
        list_path = absl::StrCat(path, ".all_of.queries");
        break;
      case CountryQuery::kAnyOf:
        list = &query.any_of();
        list_path = absl::StrCat(path, ".any_of.queries");
        break;
      case CountryQuery::kDifference:
        list = &query.difference();
        list_path = absl::StrCat(path, ".difference.queries");
        break;
    }
    if (list->queries().empty()) {
      return InvalidArgument(list_path, "is empty; name at least one query");
    }
    for (int i = 0; i < list->queries_size(); ++i) {
      if (absl::Status child =
              CheckShape(list->queries(i), absl::StrCat(list_path, "[", i, "]"),
                         depth + 1);
          !child.ok()) {
        return child;
      }
    }
    return absl::OkStatus();
  }

  void CheckFilter(const RecordFilter& filter, const std::string& path,
                   std::vector<FieldViolation>& violations) const {
    absl::flat_hash_set<std::string> malformed;
    if (absl::Status status =
            domain::ValidateFilter(domain::ToCooperationFilter(filter), path);
        !status.ok()) {
      for (FieldViolation& violation : FieldViolations(status)) {
        malformed.insert(violation.field);
        violations.push_back(std::move(violation));
      }
    }
    // Only well-formed values are looked up: one complaint per value.
    auto check =
        [&](const google::protobuf::RepeatedPtrField<std::string>& values,
            std::string_view name, auto known, std::string_view what) {
          if (malformed.contains(absl::StrCat(path, ".", ToAbsl(name)))) {
            return;
          }
          for (int i = 0; i < values.size(); ++i) {
            std::string item =
                absl::StrCat(path, ".", ToAbsl(name), "[", i, "]");
            if (malformed.contains(item) || known(values[i])) continue;
            violations.push_back(
                {std::move(item),
                 absl::StrCat(QuotedValue(values[i]), " is not ", ToAbsl(what),
                              " of the registry")});
          }
        };
    check(
        filter.partner_ids(), "partner_ids",
        [this](const std::string& id) {
          return registry_.organisations.contains(id) ||
                 registry_.CanonicalCountry(id).has_value();
        },
        "an organisation or a country");
    check(
        filter.target_regions(), "target_regions",
        [this](const std::string& id) {
          return registry_.regions.contains(id);
        },
        "a region");
    check(
        filter.reporting_countries(), "reporting_countries",
        [this](const std::string& code) {
          return registry_.CanonicalCountry(code).has_value();
        },
        "a country");
  }

  const registry::RegistrySnapshot& registry_;
  const std::string field_;
  int nodes_ = 0;
  std::vector<PendingFilter> filters_;
};

// Whether QueryValidator would pass `query`, deciding without a path, a
// message or an allocation: nearly every request is valid, and writing what
// is wrong with it only pays when something is. A query this refuses goes to
// QueryValidator, which finds the same faults and names them.
bool QuickValid(const CountryQuery& query,
                const registry::RegistrySnapshot& registry, int depth,
                int& nodes, int& values) {
  if (depth > kMaxQueryDepth || ++nodes > kMaxQueryNodes) return false;
  const stats::v1::CountryQueryList* list = nullptr;
  switch (query.expr_case()) {
    case CountryQuery::EXPR_NOT_SET:
      return false;
    case CountryQuery::kFilter: {
      const RecordFilter& filter = query.filter();
      values += FilterValues(filter);
      if (values > kMaxQueryFilterValues) return false;
      if (!domain::IsValidFilter(filter)) return false;
      // A valid filter's partner ids are upper case, so the country lookup
      // CanonicalCountry would make after upper-casing is a lookup of the
      // id itself.
      for (const std::string& id : filter.partner_ids()) {
        if (!registry.organisations.contains(id) &&
            !registry.aliases.contains(id) &&
            !registry.countries.contains(id)) {
          return false;
        }
      }
      for (const std::string& id : filter.target_regions()) {
        if (!registry.regions.contains(id)) return false;
      }
      // Two letters, any case: upper-cased on the stack.
      for (const std::string& code : filter.reporting_countries()) {
        const char upper[2] = {absl::ascii_toupper(code[0]),
                               absl::ascii_toupper(code[1])};
        const absl::string_view key(upper, 2);
        if (!registry.aliases.contains(key) &&
            !registry.countries.contains(key)) {
          return false;
        }
      }
      return true;
    }
    case CountryQuery::kAllOf:
      list = &query.all_of();
      break;
    case CountryQuery::kAnyOf:
      list = &query.any_of();
      break;
    case CountryQuery::kDifference:
      list = &query.difference();
      break;
  }
  if (list->queries().empty()) return false;
  for (const CountryQuery& child : list->queries()) {
    if (!QuickValid(child, registry, depth + 1, nodes, values)) return false;
  }
  return true;
}

absl::Status ValidateMeasure(Measure measure) {
  if (!stats::v1::Measure_IsValid(measure)) {
    return InvalidArgument(
        "measure", absl::StrCat(measure, " is not a value of ",
                                stats::v1::Measure_descriptor()->full_name()));
  }
  return absl::OkStatus();
}

absl::Status ValidateDimension(Dimension dimension, std::string_view field) {
  if (!stats::v1::Dimension_IsValid(dimension)) {
    return InvalidArgument(
        field, absl::StrCat(dimension, " is not a value of ",
                            stats::v1::Dimension_descriptor()->full_name()));
  }
  if (dimension == stats::v1::DIMENSION_UNSPECIFIED) {
    return InvalidArgument(
        field,
        "DIMENSION_UNSPECIFIED splits by nothing; name a Dimension value");
  }
  return absl::OkStatus();
}

}  // namespace

namespace internal {

bool QuickValidQuery(const CountryQuery& query,
                     const registry::RegistrySnapshot& registry) {
  int nodes = 0;
  int values = 0;
  return QuickValid(query, registry, 1, nodes, values);
}

absl::Status FullValidateQuery(const CountryQuery& query,
                               const registry::RegistrySnapshot& registry,
                               std::string_view field) {
  return QueryValidator(registry, field).Validate(query);
}

absl::Status ValidateBreakdown(const CountryQuery& query,
                               const registry::RegistrySnapshot& registry,
                               Dimension dimension, Measure measure) {
  if (absl::Status status = ValidateQuery(query, registry, "query");
      !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidateDimension(dimension, "dimension");
      !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidateMeasure(measure); !status.ok()) {
    return status;
  }
  return absl::OkStatus();
}

absl::Status ValidateCrossTabulate(const CountryQuery& query,
                                   const registry::RegistrySnapshot& registry,
                                   Dimension row_dimension,
                                   Dimension column_dimension,
                                   Measure measure) {
  if (absl::Status status = ValidateQuery(query, registry, "query");
      !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidateDimension(row_dimension, "row_dimension");
      !status.ok()) {
    return status;
  }
  if (absl::Status status =
          ValidateDimension(column_dimension, "column_dimension");
      !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidateMeasure(measure); !status.ok()) {
    return status;
  }
  return absl::OkStatus();
}

absl::Status ValidateShare(const CountryQuery& part, const CountryQuery& whole,
                           const registry::RegistrySnapshot& registry) {
  std::vector<FieldViolation> violations;
  for (const auto& [query, field] :
       {std::pair<const CountryQuery*, const char*>{&part, "part"},
        {&whole, "whole"}}) {
    absl::Status status = ValidateQuery(*query, registry, field);
    for (FieldViolation& violation : FieldViolations(status)) {
      violations.push_back(std::move(violation));
    }
  }
  if (!violations.empty()) return InvalidArgument(std::move(violations));
  return absl::OkStatus();
}

}  // namespace internal

absl::Status ValidateQuery(const CountryQuery& query,
                           const registry::RegistrySnapshot& registry,
                           std::string_view field) {
  int nodes = 0;
  int values = 0;
  if (QuickValid(query, registry, 1, nodes, values)) return absl::OkStatus();
  return QueryValidator(registry, field).Validate(query);
}

absl::Status ValidateRequest(const stats::v1::CountCountriesRequest& request,
                             const registry::RegistrySnapshot& registry) {
  return ValidateQuery(request.query(), registry, "query");
}

absl::Status ValidateRequest(const stats::v1::BreakdownRequest& request,
                             const registry::RegistrySnapshot& registry) {
  return internal::ValidateBreakdown(request.query(), registry,
                                     request.dimension(), request.measure());
}

absl::Status ValidateRequest(const stats::v1::CrossTabulateRequest& request,
                             const registry::RegistrySnapshot& registry) {
  return internal::ValidateCrossTabulate(
      request.query(), registry, request.row_dimension(),
      request.column_dimension(), request.measure());
}

absl::Status ValidateRequest(const stats::v1::ShareRequest& request,
                             const registry::RegistrySnapshot& registry) {
  return internal::ValidateShare(request.part(), request.whole(), registry);
}

absl::Status ValidateRequest(const stats::v1::ExplainRequest& request,
                             const registry::RegistrySnapshot& registry) {
  return ValidateQuery(request.query(), registry, "query");
}

}  // namespace thb::aggregator
