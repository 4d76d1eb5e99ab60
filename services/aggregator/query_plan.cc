// Planning and evaluating queries: a filter compiled against the index into
// an AND of ORs of postings, evaluated by blocks for its countries or whole
// for its records, and the set algebra of a query over its filters' countries.
// Members used only here are defined inline, as they were inside the class,
// so that they stay inlined into the loops.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "domain/country_code.h"
#include "domain/record_filter.h"
#include "services/aggregator/query_engine_internal.h"

namespace thb::aggregator::internal {
namespace {

// Words evaluated at a time when a filter only needs its countries: small
// enough to stay in cache, large enough to amortize the loop over postings.
constexpr size_t kBlockWords = 1024;
// The first block when stopping early is likely: about a thousand records.
constexpr size_t kFirstBlockWords = 16;

}  // namespace

CountrySet Evaluator::Countries(const CountryQuery& query) {
  switch (query.expr_case()) {
    case CountryQuery::kFilter:
      return LeafCountries(Compile(query.filter()));
    case CountryQuery::kAllOf: {
      CountrySet result = Countries(query.all_of().queries(0));
      for (int i = 1;
           i < query.all_of().queries_size() && !result.Empty() && !stopped();
           ++i) {
        result.And(Countries(query.all_of().queries(i)));
      }
      return result;
    }
    case CountryQuery::kAnyOf: {
      CountrySet result = Countries(query.any_of().queries(0));
      for (int i = 1; i < query.any_of().queries_size() && !stopped(); ++i) {
        result.Or(Countries(query.any_of().queries(i)));
      }
      return result;
    }
    case CountryQuery::kDifference: {
      CountrySet result = Countries(query.difference().queries(0));
      for (int i = 1; i < query.difference().queries_size() &&
                      !result.Empty() && !stopped();
           ++i) {
        result.AndNot(Countries(query.difference().queries(i)));
      }
      return result;
    }
    case CountryQuery::EXPR_NOT_SET:
      break;
  }
  return CountrySet(country_count());
}

Bits Evaluator::Selection(const CountryQuery& query, const CountrySet& answer) {
  std::vector<const RecordFilter*> filters;
  PositiveFilters(query, filters);
  Bits selection(words_, 0);
  CountrySet outside(country_count());
  for (const RecordFilter* filter : filters) {
    if (stopped()) return selection;
    const Plan plan = Compile(*filter);
    const Bits leaf = LeafSelection(plan);
    for (size_t i = 0; i < words_; ++i) selection[i] |= leaf[i];
    outside.Or(LeafCountries(plan));
  }
  // Filters under all_of and difference may select records of countries
  // outside the answer; when none do, there is nothing to take out.
  outside.AndNot(answer);
  if (outside.Empty() || !Spend(words_)) return selection;
  const CountryId* country = index_.country_data();
  for (size_t i = 0; i < words_; ++i) {
    for (Word word = selection[i]; word != 0; word &= word - 1) {
      const int bit = LowestBit(word);
      if (!answer.Has(country[i * kWordBits + bit])) {
        selection[i] &= ~(Word{1} << bit);
      }
    }
  }
  return selection;
}

inline CountrySet Evaluator::LeafCountries(const Plan& plan) const {
  CountrySet countries(country_count());
  if (plan.selects_nothing) return countries;
  const CountryId* country = index_.country_data();
  int found = 0;
  // On the stack (16 KiB), left uninitialized: Evaluate writes every word
  // it reads back, and a heap block of this size would cost more than a
  // query that stops early.
  Word block[kBlockWords];
  Word scratch[kBlockWords];
  size_t size = kFirstBlockWords;
  for (size_t begin = 0; begin < words_; begin += size) {
    if (begin > 0) size = std::min(size * 2, kBlockWords);
    const size_t end = std::min(words_, begin + size);
    if (!Spend((end - begin) * std::max<size_t>(plan.groups.size(), 1))) {
      break;
    }
    Evaluate(plan, begin, end, block, scratch);
    for (size_t i = 0; i < end - begin; ++i) {
      for (Word word = block[i]; word != 0; word &= word - 1) {
        const Slot slot =
            static_cast<Slot>((begin + i) * kWordBits + LowestBit(word));
        if (!Passes(plan, slot)) continue;
        const CountryId c = country[slot];
        if (countries.Has(c)) continue;
        countries.Add(c);
        if (++found == plan.possible) return countries;
      }
    }
  }
  return countries;
}

inline Plan Evaluator::Compile(const RecordFilter& filter) {
  Plan plan;
  // One group per field at most.
  plan.groups.reserve(RecordIndex::kFieldCount);
  const size_t countries = country_count();
  // A country none of whose records has a value of a group cannot be in
  // the answer: keeping `allowed` to the countries with records that have
  // some value of every group lets LeafCountries stop when it has found
  // them all. Each step is a word per 64 countries.
  plan.allowed = CountrySet(countries);
  for (CountryId c = 0; c < countries; ++c) {
    if (index_.value_records(Field::kReportingCountry, c) > 0) {
      plan.allowed.Add(c);
    }
  }
  CountrySet reach(countries);
  auto add_group = [&plan, &reach](std::vector<const Bits*> group) {
    plan.allowed.And(reach);
    std::sort(group.begin(), group.end());
    group.erase(std::unique(group.begin(), group.end()), group.end());
    if (group.empty()) {
      plan.selects_nothing = true;
    } else {
      plan.groups.push_back(std::move(group));
    }
  };
  auto enum_group = [&](Field field, const auto& values) {
    if (values.empty()) return;
    std::vector<const Bits*> group;
    reach.Clear();
    for (int value : values) {
      if (value <= 0) continue;
      const uint32_t v = static_cast<uint32_t>(value);
      if (index_.value_records(field, v) > 0) {
        group.push_back(index_.posting(field, v));
        reach.OrWords(index_.value_countries(field, v));
      }
    }
    add_group(std::move(group));
  };
  auto string_group = [&](Field field, const auto& values) {
    if (values.empty()) return;
    std::vector<const Bits*> group;
    reach.Clear();
    for (const std::string& name : values) {
      if (auto v = index_.FindValue(field, name);
          v.has_value() && index_.value_records(field, *v) > 0) {
        group.push_back(index_.posting(field, *v));
        reach.OrWords(index_.value_countries(field, *v));
      }
    }
    add_group(std::move(group));
  };
  enum_group(Field::kKind, filter.kinds());
  enum_group(Field::kThematicArea, filter.thematic_areas());
  enum_group(Field::kForm, filter.forms());
  enum_group(Field::kPartnerKind, filter.partner_kinds());
  string_group(Field::kPartnerId, filter.partner_ids());
  string_group(Field::kTargetRegion, filter.target_regions());
  string_group(Field::kTag, filter.tags());
  if (!filter.reporting_countries().empty()) {
    std::vector<const Bits*> group;
    reach.Clear();
    for (const std::string& code : filter.reporting_countries()) {
      if (auto c = index_.FindCountry(domain::CanonicalCountryCode(code))) {
        reach.Add(*c);
        if (index_.value_records(Field::kReportingCountry, *c) > 0) {
          group.push_back(index_.posting(Field::kReportingCountry, *c));
        }
      }
    }
    add_group(std::move(group));
  }
  if (!filter.emn_statuses().empty()) {
    plan.allowed.ForEach([&](CountryId c) {
      const int status = Status(c);
      if (std::find(filter.emn_statuses().begin(), filter.emn_statuses().end(),
                    status) == filter.emn_statuses().end()) {
        plan.allowed.Remove(c);
        plan.check_country = true;
      }
    });
  }
  plan.from_year = filter.from_year();
  plan.to_year = filter.to_year();
  plan.check_years = plan.from_year != 0 || plan.to_year != 0;
  plan.possible = plan.allowed.Count();
  if (plan.possible == 0) plan.selects_nothing = true;
  return plan;
}

inline Bits Evaluator::LeafSelection(const Plan& plan) const {
  Bits bits(words_, 0);
  if (plan.selects_nothing ||
      !Spend(words_ * std::max<size_t>(plan.groups.size(), 1))) {
    return bits;
  }
  std::vector<Word> scratch(words_);
  Evaluate(plan, 0, words_, bits.data(), scratch.data());
  if (plan.check_country || plan.check_years) {
    for (size_t i = 0; i < words_; ++i) {
      for (Word word = bits[i]; word != 0; word &= word - 1) {
        const int bit = LowestBit(word);
        if (!Passes(plan, static_cast<Slot>(i * kWordBits + bit))) {
          bits[i] &= ~(Word{1} << bit);
        }
      }
    }
  }
  return bits;
}

inline void Evaluator::PositiveFilters(const CountryQuery& query,
                                       std::vector<const RecordFilter*>& out) {
  switch (query.expr_case()) {
    case CountryQuery::kFilter:
      out.push_back(&query.filter());
      break;
    case CountryQuery::kAllOf:
      for (const CountryQuery& child : query.all_of().queries()) {
        PositiveFilters(child, out);
      }
      break;
    case CountryQuery::kAnyOf:
      for (const CountryQuery& child : query.any_of().queries()) {
        PositiveFilters(child, out);
      }
      break;
    case CountryQuery::kDifference:
      PositiveFilters(query.difference().queries(0), out);
      break;
    case CountryQuery::EXPR_NOT_SET:
      break;
  }
}

inline bool Evaluator::Passes(const Plan& plan, Slot slot) const {
  if (plan.check_country && !plan.allowed.Has(index_.country(slot))) {
    return false;
  }
  if (plan.check_years) {
    const int32_t start = index_.start_year(slot);
    const int32_t end = index_.end_year(slot);
    if (plan.to_year != 0 && start != 0 && start > plan.to_year) {
      return false;
    }
    if (plan.from_year != 0 && end != 0 && end < plan.from_year) {
      return false;
    }
  }
  return true;
}

inline void Evaluator::Evaluate(const Plan& plan, size_t begin, size_t end,
                                Word* out, Word* scratch) const {
  const size_t n = end - begin;
  auto available = [begin, n](const Bits& bits) {
    return bits.size() <= begin ? size_t{0} : std::min(n, bits.size() - begin);
  };
  if (plan.groups.empty()) {
    const Bits& live = index_.live();
    const size_t m = available(live);
    std::copy(live.begin() + begin, live.begin() + begin + m, out);
    std::fill(out + m, out + n, 0);
    return;
  }
  bool first = true;
  for (const std::vector<const Bits*>& group : plan.groups) {
    Word* target = first ? out : scratch;
    if (group.size() == 1 && !first) {
      const Bits& bits = *group[0];
      const size_t m = available(bits);
      // No pointer past a short posting's end, even an unused one.
      const Word* source = m == 0 ? nullptr : bits.data() + begin;
      for (size_t i = 0; i < m; ++i) out[i] &= source[i];
      std::fill(out + m, out + n, 0);
      continue;
    }
    std::fill(target, target + n, 0);
    for (const Bits* bits : group) {
      const size_t m = available(*bits);
      const Word* source = m == 0 ? nullptr : bits->data() + begin;
      for (size_t i = 0; i < m; ++i) target[i] |= source[i];
    }
    if (!first) {
      for (size_t i = 0; i < n; ++i) out[i] &= scratch[i];
    }
    first = false;
  }
}

}  // namespace thb::aggregator::internal
