#ifndef THB_TESTS_AGGREGATOR_QUERY_ORACLE_H_
#define THB_TESTS_AGGREGATOR_QUERY_ORACLE_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/synthetic.h"
#include "common/errors.h"
#include "domain/country_code.h"
#include "domain/footnote.h"
#include "domain/record_filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/aggregator/query_engine.h"
#include "services/aggregator/record_index.h"
#include "tests/aggregator/reference_registry.h"

namespace thb::aggregator::testing {

using cooperation::v1::CooperationRecord;
using registry::v1::EmnStatus;
using stats::v1::CountryQuery;
using stats::v1::Dimension;
using stats::v1::Measure;
using stats::v1::RecordFilter;

constexpr Dimension kDimensions[] = {
    stats::v1::DIMENSION_KIND,
    stats::v1::DIMENSION_THEMATIC_AREA,
    stats::v1::DIMENSION_FORM,
    stats::v1::DIMENSION_PARTNER,
    stats::v1::DIMENSION_PARTNER_KIND,
    stats::v1::DIMENSION_TARGET_REGION,
    stats::v1::DIMENSION_REPORTING_COUNTRY,
    stats::v1::DIMENSION_YEAR,
    stats::v1::DIMENSION_TAG,
    stats::v1::DIMENSION_EMN_STATUS,
};

// The answers computed the slow, obvious way: every record through
// domain::Matches, sets of strings, dimension values read off each record.
class Oracle {
 public:
  Oracle(const std::vector<CooperationRecord>& records,
         const registry::RegistrySnapshot& registry, absl::CivilDay day)
      : records_(records), registry_(registry), day_(day) {}

  EmnStatus Status(const std::string& code) const {
    auto it = statuses_.find(code);
    if (it == statuses_.end()) {
      it = statuses_.emplace(code, registry_.StatusOn(code, day_)).first;
    }
    return it->second;
  }

  static std::string Country(const CooperationRecord& record) {
    return domain::CanonicalCountryCode(record.reporting_country());
  }

  bool Selects(const cooperation::v1::RecordFilter& filter,
               const CooperationRecord& record) const {
    return domain::Matches(record, filter, Status(Country(record)));
  }

  std::set<std::string> Countries(const CountryQuery& query) const {
    std::set<std::string> result;
    switch (query.expr_case()) {
      case CountryQuery::kFilter: {
        const auto filter = domain::ToCooperationFilter(query.filter());
        for (const auto& record : records_) {
          if (Selects(filter, record)) result.insert(Country(record));
        }
        break;
      }
      case CountryQuery::kAllOf:
        result = Countries(query.all_of().queries(0));
        for (int i = 1; i < query.all_of().queries_size(); ++i) {
          std::set<std::string> next = Countries(query.all_of().queries(i));
          std::set<std::string> both;
          std::set_intersection(result.begin(), result.end(), next.begin(),
                                next.end(), std::inserter(both, both.end()));
          result = both;
        }
        break;
      case CountryQuery::kAnyOf:
        for (const auto& child : query.any_of().queries()) {
          std::set<std::string> next = Countries(child);
          result.insert(next.begin(), next.end());
        }
        break;
      case CountryQuery::kDifference:
        result = Countries(query.difference().queries(0));
        for (int i = 1; i < query.difference().queries_size(); ++i) {
          for (const auto& code : Countries(query.difference().queries(i))) {
            result.erase(code);
          }
        }
        break;
      default:
        break;
    }
    return result;
  }

  void PositiveFilters(const CountryQuery& query,
                       std::vector<const RecordFilter*>& out) const {
    if (query.has_filter()) {
      out.push_back(&query.filter());
    } else if (query.has_all_of()) {
      for (const auto& child : query.all_of().queries()) {
        PositiveFilters(child, out);
      }
    } else if (query.has_any_of()) {
      for (const auto& child : query.any_of().queries()) {
        PositiveFilters(child, out);
      }
    } else if (query.has_difference()) {
      PositiveFilters(query.difference().queries(0), out);
    }
  }

  std::vector<const CooperationRecord*> Behind(
      const CountryQuery& query) const {
    const std::set<std::string> answer = Countries(query);
    std::vector<const RecordFilter*> positive;
    PositiveFilters(query, positive);
    std::vector<cooperation::v1::RecordFilter> filters;
    for (const RecordFilter* filter : positive) {
      filters.push_back(domain::ToCooperationFilter(*filter));
    }
    std::vector<const CooperationRecord*> behind;
    for (const auto& record : records_) {
      if (answer.count(Country(record)) == 0) continue;
      for (const auto& filter : filters) {
        if (Selects(filter, record)) {
          behind.push_back(&record);
          break;
        }
      }
    }
    return behind;
  }

  std::set<std::string> Values(const CooperationRecord& record,
                               Dimension dimension) const {
    namespace v1 = cooperation::v1;
    std::set<std::string> values;
    switch (dimension) {
      case stats::v1::DIMENSION_KIND:
        if (record.kind() != 0)
          values.insert(v1::RecordKind_Name(record.kind()));
        break;
      case stats::v1::DIMENSION_THEMATIC_AREA:
        for (int area : record.thematic_areas()) {
          if (area != 0) {
            values.insert(
                v1::ThematicArea_Name(static_cast<v1::ThematicArea>(area)));
          }
        }
        break;
      case stats::v1::DIMENSION_FORM:
        if (record.form() != 0) {
          values.insert(v1::CooperationForm_Name(record.form()));
        }
        break;
      case stats::v1::DIMENSION_PARTNER:
        for (const auto& partner : record.partners()) {
          if (!partner.id().empty()) {
            values.insert(partner.id());
          } else if (partner.kind() != 0) {
            values.insert("<" + v1::PartnerKind_Name(partner.kind()) + ">");
          }
        }
        break;
      case stats::v1::DIMENSION_PARTNER_KIND:
        for (const auto& partner : record.partners()) {
          if (partner.kind() != 0) {
            values.insert(v1::PartnerKind_Name(partner.kind()));
          }
        }
        break;
      case stats::v1::DIMENSION_TARGET_REGION:
        values.insert(record.target_regions().begin(),
                      record.target_regions().end());
        break;
      case stats::v1::DIMENSION_REPORTING_COUNTRY:
        values.insert(Country(record));
        break;
      case stats::v1::DIMENSION_YEAR:
        if (record.start_year() != 0 && record.end_year() != 0) {
          for (int year = record.start_year(); year <= record.end_year();
               ++year) {
            values.insert(absl::StrCat(year));
          }
        } else if (record.start_year() != 0) {
          values.insert(absl::StrCat(record.start_year()));
        } else if (record.end_year() != 0) {
          values.insert(absl::StrCat(record.end_year()));
        }
        break;
      case stats::v1::DIMENSION_TAG:
        values.insert(record.tags().begin(), record.tags().end());
        break;
      case stats::v1::DIMENSION_EMN_STATUS:
        values.insert(registry::v1::EmnStatus_Name(Status(Country(record))));
        break;
      default:
        break;
    }
    return values;
  }

  struct Cell {
    std::set<std::string> countries;
    int records = 0;
    int Count(Measure measure) const {
      return measure == stats::v1::MEASURE_RECORDS
                 ? records
                 : static_cast<int>(countries.size());
    }
  };

  std::map<std::string, Cell> Breakdown(const CountryQuery& query,
                                        Dimension dimension) const {
    std::map<std::string, Cell> cells;
    for (const CooperationRecord* record : Behind(query)) {
      for (const auto& value : Values(*record, dimension)) {
        cells[value].countries.insert(Country(*record));
        ++cells[value].records;
      }
    }
    return cells;
  }

  std::map<std::pair<std::string, std::string>, Cell> Cross(
      const CountryQuery& query, Dimension rows, Dimension columns) const {
    std::map<std::pair<std::string, std::string>, Cell> cells;
    for (const CooperationRecord* record : Behind(query)) {
      for (const auto& row : Values(*record, rows)) {
        for (const auto& column : Values(*record, columns)) {
          cells[{row, column}].countries.insert(Country(*record));
          ++cells[{row, column}].records;
        }
      }
    }
    return cells;
  }

  std::vector<std::string> StudyOrder(
      const std::set<std::string>& codes) const {
    return domain::CountryOrder(
        {codes.begin(), codes.end()},
        [this](const std::string& code) { return Status(code); });
  }

  std::string Footnote(const std::set<std::string>& codes) const {
    return domain::StudyFootnote(
        {codes.begin(), codes.end()},
        [this](const std::string& code) { return Status(code); });
  }

 private:
  const std::vector<CooperationRecord>& records_;
  const registry::RegistrySnapshot& registry_;
  absl::CivilDay day_;
  mutable std::map<std::string, EmnStatus> statuses_;
};

}  // namespace thb::aggregator::testing

#endif  // THB_TESTS_AGGREGATOR_QUERY_ORACLE_H_
