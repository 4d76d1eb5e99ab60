#include "services/aggregator/query_engine.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/dates.h"
#include "common/errors.h"
#include "common/string_view.h"
#include "domain/footnote.h"
#include "domain/record_filter.h"
#include "services/registry/reference_data.h"

namespace thb::aggregator {
namespace {

using Bits = RecordIndex::Bits;
using CountryId = RecordIndex::CountryId;
using Field = RecordIndex::Field;
using Slot = RecordIndex::Slot;
using Word = RecordIndex::Word;
using registry::v1::EmnStatus;
using stats::v1::CountryQuery;
using stats::v1::Dimension;
using stats::v1::Measure;
using stats::v1::RecordFilter;

constexpr int kWordBits = RecordIndex::kWordBits;
// Words evaluated at a time when a filter only needs its countries: small
// enough to stay in cache, large enough to amortize the loop over postings.
constexpr size_t kBlockWords = 1024;
// The first block when stopping early is likely: about a thousand records.
constexpr size_t kFirstBlockWords = 16;
// A period longer than this is not a real one; it must not make the YEAR
// dimension loop for long.
constexpr int kMaxYearsPerRecord = 200;

// The instruction where the build targets it; otherwise the bit-parallel
// sum, inline (the library call the builtin becomes is several times
// slower, and counting is the inner loop of record measures).
inline int PopCount(Word word) {
#if defined(__POPCNT__)
  return __builtin_popcountll(word);
#else
  word = word - ((word >> 1) & 0x5555555555555555ULL);
  word = (word & 0x3333333333333333ULL) + ((word >> 2) & 0x3333333333333333ULL);
  word = (word + (word >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<int>((word * 0x0101010101010101ULL) >> 56);
#endif
}
int LowestBit(Word word) { return __builtin_ctzll(word); }

// A bucket's name for a value of an enum field: the value's proto name.
template <typename Enum>
std::string EnumValueName(uint32_t value) {
  const google::protobuf::EnumValueDescriptor* descriptor =
      google::protobuf::GetEnumDescriptor<Enum>()->FindValueByNumber(
          static_cast<int>(value));
  return descriptor != nullptr ? descriptor->name() : absl::StrCat(value);
}

// ---------------------------------------------------------------- validation

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

// ------------------------------------------------------------- country sets

class CountrySet {
 public:
  explicit CountrySet(size_t countries)
      : words_((countries + kWordBits - 1) / kWordBits, 0) {}

  bool Has(CountryId country) const {
    return (words_[country / kWordBits] >> (country % kWordBits)) & 1;
  }
  void Add(CountryId country) {
    words_[country / kWordBits] |= Word{1} << (country % kWordBits);
  }
  void Remove(CountryId country) {
    words_[country / kWordBits] &= ~(Word{1} << (country % kWordBits));
  }
  void Clear() { std::fill(words_.begin(), words_.end(), 0); }
  // With the countries of a bitset by CountryId, which may be shorter.
  void OrWords(const std::vector<Word>& words) {
    const size_t n = std::min(words.size(), words_.size());
    for (size_t i = 0; i < n; ++i) words_[i] |= words[i];
  }
  int Count() const {
    int count = 0;
    for (Word word : words_) count += PopCount(word);
    return count;
  }
  bool Empty() const {
    return std::all_of(words_.begin(), words_.end(),
                       [](Word word) { return word == 0; });
  }
  void And(const CountrySet& other) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] &= other.words_[i];
  }
  void Or(const CountrySet& other) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] |= other.words_[i];
  }
  void AndNot(const CountrySet& other) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] &= ~other.words_[i];
  }
  int CountAnd(const CountrySet& other) const {
    int count = 0;
    for (size_t i = 0; i < words_.size(); ++i) {
      count += PopCount(words_[i] & other.words_[i]);
    }
    return count;
  }
  template <typename F>
  void ForEach(F f) const {
    for (size_t i = 0; i < words_.size(); ++i) {
      for (Word word = words_[i]; word != 0; word &= word - 1) {
        f(static_cast<CountryId>(i * kWordBits + LowestBit(word)));
      }
    }
  }

 private:
  std::vector<Word> words_;
};

// A filter compiled against the index: an AND of ORs of postings, then
// checks per slot for what postings do not hold (EMN status of the reporting
// country, period overlap).
struct Plan {
  bool selects_nothing = false;
  std::vector<std::vector<const Bits*>> groups;
  // The countries a selected record may have.
  CountrySet allowed = CountrySet(0);
  bool check_country = false;
  bool check_years = false;
  int32_t from_year = 0;
  int32_t to_year = 0;
  // Countries in `allowed`: when all are found, more scanning cannot add
  // any.
  int possible = 0;
};

// Countries and records of a slot bitset.
struct Tally {
  CountrySet countries;
  int64_t records = 0;
  int found = 0;
};

// A dimension value and the selected records that have it: the selection
// AND `bits()`, either a posting of the index (not copied) or a bitset
// built for the dimension.
struct ValueBits {
  std::string value;
  const Bits* posting = nullptr;
  Bits owned;
  Tally tally{CountrySet(0)};

  const Bits& bits() const { return posting != nullptr ? *posting : owned; }
};

// EMN statuses by CountryId on one day, of one index's countries under one
// registry snapshot. Judging a country costs a hash lookup and a walk of its
// history, as much as the rest of a small answer together, and statuses
// change only with the registry, the day or the index's countries: so they
// are judged once per (country generation, snapshot identity, day) and kept
// between queries.
struct StatusTable {
  uint64_t country_generation = 0;
  uint64_t registry = 0;
  absl::CivilDay day;
  std::vector<EmnStatus> statuses;

  bool Fits(const RecordIndex& index,
            const registry::RegistrySnapshot& registry_snapshot,
            absl::CivilDay as_of) const {
    return country_generation == index.country_generation() &&
           registry == registry_snapshot.identity.value() && day == as_of &&
           statuses.size() == index.country_count();
  }
};

// The last few tables, shared by every query: a server answers over one
// index, and nearly always for today under the latest snapshot.
class StatusTables {
 public:
  std::shared_ptr<const StatusTable> Get(
      const RecordIndex& index, const registry::RegistrySnapshot& registry,
      absl::CivilDay as_of) {
    // Each thread's last table first: it nearly always fits, and taking it
    // needs no lock.
    thread_local std::shared_ptr<const StatusTable> last;
    if (last != nullptr && last->Fits(index, registry, as_of)) return last;
    last = Find(index, registry, as_of);
    return last;
  }

 private:
  std::shared_ptr<const StatusTable> Find(
      const RecordIndex& index, const registry::RegistrySnapshot& registry,
      absl::CivilDay as_of) {
    {
      absl::MutexLock lock(&mu_);
      for (const auto& table : tables_) {
        if (table != nullptr && table->Fits(index, registry, as_of)) {
          return table;
        }
      }
    }
    // Judged outside the lock; two queries that miss together both judge,
    // and both tables are right.
    auto table = std::make_shared<StatusTable>();
    table->country_generation = index.country_generation();
    table->registry = registry.identity.value();
    table->day = as_of;
    table->statuses.resize(index.country_count(),
                           registry::v1::EMN_STATUS_NONE);
    const std::string date = FormatDate(as_of);
    for (size_t c = 0; c < index.country_count(); ++c) {
      auto it = registry.countries.find(
          index.country_code(static_cast<CountryId>(c)));
      if (it != registry.countries.end()) {
        table->statuses[c] = registry::StatusOnDate(it->second, date);
      }
    }
    absl::MutexLock lock(&mu_);
    tables_[next_] = table;
    next_ = (next_ + 1) % tables_.size();
    return table;
  }

  absl::Mutex mu_;
  std::array<std::shared_ptr<const StatusTable>, 8> tables_
      ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

StatusTables& SharedStatusTables() {
  static StatusTables* const tables = new StatusTables();
  return *tables;
}

// Whether a computation must stop, as StopWhen says: looked at on the first
// Spend and then every kStopCheckWords words, so that a small answer reads
// no clock at all. Once it says stop it keeps saying so; the computation
// then unwinds with whatever it has, and its caller returns status().
class Stopper {
 public:
  explicit Stopper(const StopWhen& when) : when_(when) {}

  // Counts `words` of work; false once the computation must stop.
  bool Spend(size_t words) {
    if (!status_.ok()) return false;
    spent_ += words;
    if (spent_ < next_look_) return true;
    next_look_ = spent_ + kStopCheckWords;
    return Look();
  }
  bool stopped() const { return !status_.ok(); }
  const absl::Status& status() const { return status_; }

 private:
  bool Look() {
    if (when_.cancelled && when_.cancelled()) {
      status_ = absl::CancelledError(
          "the call was cancelled while its answer was being computed");
    } else if (when_.deadline != absl::InfiniteFuture() &&
               absl::Now() >= when_.deadline) {
      status_ = absl::DeadlineExceededError(
          "the answer could not be computed before the deadline");
    }
    return status_.ok();
  }

  const StopWhen& when_;
  size_t spent_ = 0;
  size_t next_look_ = 0;
  absl::Status status_;
};

// An answer over one of the limits on answers; `seen` may be a lower bound
// (counting stops past the limit).
absl::Status TooLarge(std::string_view what, int64_t seen, int limit,
                      std::string_view advice) {
  return absl::ResourceExhaustedError(
      absl::StrCat("the answer would have more than the limit of ", limit, " ",
                   ToAbsl(what), " (at least ", seen, "); ", ToAbsl(advice)));
}

class Evaluator {
 public:
  Evaluator(const RecordIndex& index,
            const registry::RegistrySnapshot& registry, absl::CivilDay as_of,
            const StopWhen& stop)
      : index_(index),
        words_(index.words()),
        statuses_(SharedStatusTables().Get(index, registry, as_of)),
        stop_(stop) {}

  bool stopped() const { return stop_.stopped(); }
  const absl::Status& stop_status() const { return stop_.status(); }
  bool Spend(size_t words) const { return stop_.Spend(words); }

  size_t country_count() const { return index_.country_count(); }

  // domain::StudyRank of the country's status.
  int Rank(CountryId country) const {
    return domain::StudyRank(Status(country));
  }

  EmnStatus Status(CountryId country) const {
    return statuses_->statuses[country];
  }

  // The countries of `query`'s answer.
  CountrySet Countries(const CountryQuery& query) {
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

  // The records behind `answer`: those of the filters that add countries,
  // reported by a country of the answer.
  Bits Selection(const CountryQuery& query, const CountrySet& answer) {
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

  // Countries and records of the AND of `parts` (all over the first
  // `words`), where at most `bound` countries can be found; records are
  // counted only when `records` is set.
  template <size_t N>
  Tally Count(const std::array<const Word*, N>& parts, size_t words, int bound,
              bool records) const {
    Tally tally{CountrySet(country_count())};
    const CountryId* country = index_.country_data();
    auto word_at = [&parts](size_t i) {
      Word word = parts[0][i];
      for (size_t k = 1; k < N; ++k) word &= parts[k][i];
      return word;
    };
    size_t i = 0;
    for (; i < words && tally.found < bound; ++i) {
      const Word all = word_at(i);
      if (all == 0) continue;
      if (records) tally.records += PopCount(all);
      for (Word word = all; word != 0; word &= word - 1) {
        const CountryId c = country[i * kWordBits + LowestBit(word)];
        if (!tally.countries.Has(c)) {
          tally.countries.Add(c);
          if (++tally.found == bound) break;
        }
      }
    }
    if (records) {
      for (; i < words; ++i) tally.records += PopCount(word_at(i));
    }
    return tally;
  }

  Tally CountValue(const Bits& selection, const ValueBits& value, int bound,
                   bool records) const {
    const Bits& bits = value.bits();
    return Count<2>({selection.data(), bits.data()},
                    std::min(selection.size(), bits.size()), bound, records);
  }

  Tally CountCell(const Bits& selection, const ValueBits& row,
                  const ValueBits& column, int bound, bool records) const {
    const Bits& row_bits = row.bits();
    const Bits& column_bits = column.bits();
    return Count<3>(
        {selection.data(), row_bits.data(), column_bits.data()},
        std::min({selection.size(), row_bits.size(), column_bits.size()}),
        bound, records);
  }

  // The values of `dimension` among the selected records, with a count
  // bounded by the answer's size. Stops at `max_values` + 1 values: a
  // caller that gets more than `max_values` refuses the answer, and the
  // values of a field grow with the data (tags, partners).
  std::vector<ValueBits> Values(Dimension dimension, const Bits& selection,
                                const CountrySet& answer, bool records,
                                int max_values) {
    std::vector<ValueBits> values;
    const int bound = answer.Count();
    // Tallies `entry` and keeps it if selected records have it, naming it
    // only then; false once no more values are wanted.
    auto keep = [&](ValueBits entry, auto name) {
      if (!Spend(words_)) return false;
      entry.tally = CountValue(selection, entry, bound, records);
      if (entry.tally.found == 0) return true;
      entry.value = name();
      values.push_back(std::move(entry));
      return static_cast<int>(values.size()) <= max_values;
    };
    auto from_postings = [&](Field field, bool is_enum, auto name_of) {
      for (uint32_t value = 0; value < index_.value_count(field); ++value) {
        if ((is_enum && value == 0) ||
            index_.value_records(field, value) == 0) {
          continue;
        }
        ValueBits entry;
        entry.posting = index_.posting(field, value);
        if (!keep(std::move(entry), [&] { return name_of(value); })) return;
      }
    };
    // Values of a field that the index names (partner ids, regions, tags).
    auto named = [this](Field field) {
      return [this, field](uint32_t value) {
        return std::string(index_.value_name(field, value));
      };
    };
    // Values built for the dimension, in order.
    auto owned = [&](std::vector<std::pair<std::string, Bits>> built) {
      for (auto& [name, bits] : built) {
        ValueBits entry;
        entry.owned = std::move(bits);
        // A structured binding cannot be captured in C++17: name it.
        std::string& value_name = name;
        if (!keep(std::move(entry), [&] { return std::move(value_name); })) {
          return;
        }
      }
    };
    switch (dimension) {
      case stats::v1::DIMENSION_KIND:
        from_postings(Field::kKind, true,
                      EnumValueName<cooperation::v1::RecordKind>);
        break;
      case stats::v1::DIMENSION_THEMATIC_AREA:
        from_postings(Field::kThematicArea, true,
                      EnumValueName<cooperation::v1::ThematicArea>);
        break;
      case stats::v1::DIMENSION_FORM:
        from_postings(Field::kForm, true,
                      EnumValueName<cooperation::v1::CooperationForm>);
        break;
      case stats::v1::DIMENSION_PARTNER_KIND:
        from_postings(Field::kPartnerKind, true,
                      EnumValueName<cooperation::v1::PartnerKind>);
        break;
      case stats::v1::DIMENSION_PARTNER:
        from_postings(Field::kPartnerId, false, named(Field::kPartnerId));
        if (static_cast<int>(values.size()) > max_values) break;
        from_postings(Field::kAnonymousPartner, true, [](uint32_t value) {
          return absl::StrCat(
              "<", EnumValueName<cooperation::v1::PartnerKind>(value), ">");
        });
        break;
      case stats::v1::DIMENSION_TARGET_REGION:
        from_postings(Field::kTargetRegion, false, named(Field::kTargetRegion));
        break;
      case stats::v1::DIMENSION_TAG:
        from_postings(Field::kTag, false, named(Field::kTag));
        break;
      case stats::v1::DIMENSION_REPORTING_COUNTRY: {
        bool more = true;
        answer.ForEach([&](CountryId country) {
          if (!more) return;
          ValueBits entry;
          entry.posting = index_.posting(Field::kReportingCountry, country);
          more = keep(std::move(entry),
                      [&] { return index_.country_code(country); });
        });
        break;
      }
      case stats::v1::DIMENSION_EMN_STATUS: {
        std::map<int, Bits> by_status;
        answer.ForEach([&](CountryId country) {
          if (!Spend(words_)) return;
          Bits& bits = by_status[Status(country)];
          if (bits.empty()) bits.assign(words_, 0);
          const Bits& posting =
              *index_.posting(Field::kReportingCountry, country);
          const size_t n = std::min(words_, posting.size());
          for (size_t i = 0; i < n; ++i) bits[i] |= selection[i] & posting[i];
        });
        std::vector<std::pair<std::string, Bits>> built;
        for (auto& [status, bits] : by_status) {
          built.emplace_back(
              registry::v1::EmnStatus_Name(static_cast<EmnStatus>(status)),
              std::move(bits));
        }
        owned(std::move(built));
        break;
      }
      case stats::v1::DIMENSION_YEAR:
        owned(YearValues(selection));
        break;
      default:
        break;
    }
    return values;
  }

  // The countries of one filter, stopping once every country it could
  // select is found. Blocks start small and double: the last country is
  // often found within the first few hundred words, and a full block of
  // kBlockWords would evaluate, and walk the bits of, far more than that.
  CountrySet LeafCountries(const Plan& plan) const {
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

  Plan Compile(const RecordFilter& filter) {
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
        if (std::find(filter.emn_statuses().begin(),
                      filter.emn_statuses().end(),
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

  // Every record the filter selects.
  Bits LeafSelection(const Plan& plan) const {
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

  const RecordIndex& index() const { return index_; }

 private:
  static void PositiveFilters(const CountryQuery& query,
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

  std::vector<std::pair<std::string, Bits>> YearValues(const Bits& selection) {
    std::map<int32_t, Bits> by_year;
    auto add = [&](int32_t year, size_t word, Word mask) {
      Bits& bits = by_year[year];
      if (bits.empty()) bits.assign(words_, 0);
      bits[word] |= mask;
    };
    for (size_t i = 0; i < words_; ++i) {
      if (i % 64 == 0 && !Spend(64)) break;
      for (Word word = selection[i]; word != 0; word &= word - 1) {
        const int bit = LowestBit(word);
        const Slot slot = static_cast<Slot>(i * kWordBits + bit);
        const Word mask = Word{1} << bit;
        const int32_t start = index_.start_year(slot);
        const int32_t end = index_.end_year(slot);
        if (start != 0 && end != 0) {
          const int32_t last =
              std::min<int64_t>(end, int64_t{start} + kMaxYearsPerRecord - 1);
          for (int32_t year = start; year <= last; ++year) add(year, i, mask);
          if (end < start) add(start, i, mask);
        } else if (start != 0) {
          add(start, i, mask);
        } else if (end != 0) {
          add(end, i, mask);
        }
      }
    }
    std::vector<std::pair<std::string, Bits>> years;
    years.reserve(by_year.size());
    for (auto& [year, bits] : by_year) {
      years.emplace_back(absl::StrCat(year), std::move(bits));
    }
    return years;
  }

  bool Passes(const Plan& plan, Slot slot) const {
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

  // Words [begin, end) of the AND of ORs into `out`, before the slot checks.
  void Evaluate(const Plan& plan, size_t begin, size_t end, Word* out,
                Word* scratch) const {
    const size_t n = end - begin;
    auto available = [begin, n](const Bits& bits) {
      return bits.size() <= begin ? size_t{0}
                                  : std::min(n, bits.size() - begin);
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

  const RecordIndex& index_;
  const size_t words_;
  const std::shared_ptr<const StatusTable> statuses_;
  // Spent by const evaluation too: a budget, not the state of an answer.
  mutable Stopper stop_;
};

// ---------------------------------------------------------------- answers

// An answer's countries in study order, judged once: Members, Observers,
// then the rest, each group by code.
struct Answer {
  std::vector<CountryId> countries;
  int members = 0;
  int observers = 0;
};

// The index keeps its countries ordered by code, so study order is three
// walks of that list (one per group) with no sort and no strings; each
// country's status is judged at most once per query.
Answer Describe(Evaluator& evaluator, const CountrySet& set) {
  const std::vector<CountryId>& by_code = evaluator.index().countries_by_code();
  Answer answer;
  answer.countries.reserve(by_code.size());
  // Members go straight to the answer, the others wait in `later` with
  // their group; each country is judged once.
  std::vector<std::pair<int, CountryId>> later;
  for (CountryId country : by_code) {
    if (!set.Has(country)) continue;
    const int rank = evaluator.Rank(country);
    if (rank == 0) {
      answer.countries.push_back(country);
    } else {
      later.emplace_back(rank, country);
    }
  }
  answer.members = static_cast<int>(answer.countries.size());
  // `later` is by code: one walk per group keeps each group so.
  for (int group = 1; group <= 2; ++group) {
    for (const auto& [rank, country] : later) {
      if (rank == group) answer.countries.push_back(country);
    }
  }
  answer.observers = static_cast<int>(
      std::count_if(later.begin(), later.end(),
                    [](const auto& entry) { return entry.first == 1; }));
  return answer;
}

// domain::StudyFootnote of the answer's countries.
std::string FootnoteOf(const RecordIndex& index, const Answer& answer) {
  return domain::OrderedFootnote(
      answer.countries.size(), static_cast<size_t>(answer.members),
      [&](size_t i) -> std::string_view {
        return index.country_code(answer.countries[i]);
      });
}

void SetAsOf(absl::CivilDay as_of, stats::v1::AsOf* out) {
  out->set_as_of_date(FormatDate(as_of));
}

bool CountsRecords(Measure measure) {
  return measure == stats::v1::MEASURE_RECORDS;
}

int32_t Clamp(int64_t count) {
  return static_cast<int32_t>(
      std::min<int64_t>(count, std::numeric_limits<int32_t>::max()));
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

}  // namespace internal

namespace {

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

absl::Status ValidateQuery(const CountryQuery& query,
                           const registry::RegistrySnapshot& registry,
                           std::string_view field) {
  int nodes = 0;
  int values = 0;
  if (QuickValid(query, registry, 1, nodes, values)) return absl::OkStatus();
  return QueryValidator(registry, field).Validate(query);
}

absl::StatusOr<stats::v1::CountCountriesResponse> CountCountries(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, const StopWhen& stop) {
  if (absl::Status status = ValidateQuery(query, registry, "query");
      !status.ok()) {
    return status;
  }
  Evaluator evaluator(index, registry, as_of, stop);
  const CountrySet countries = evaluator.Countries(query);
  if (evaluator.stopped()) return evaluator.stop_status();
  const Answer answer = Describe(evaluator, countries);
  stats::v1::CountCountriesResponse response;
  response.set_count(static_cast<int32_t>(answer.countries.size()));
  response.mutable_countries()->Reserve(
      static_cast<int>(answer.countries.size()));
  for (CountryId country : answer.countries) {
    response.add_countries(index.country_code(country));
  }
  response.set_member_count(answer.members);
  response.set_observer_count(answer.observers);
  response.set_footnote(FootnoteOf(index, answer));
  SetAsOf(as_of, response.mutable_as_of());
  return response;
}

absl::StatusOr<stats::v1::BreakdownResponse> Breakdown(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, Dimension dimension,
    Measure measure, const StopWhen& stop) {
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
  Evaluator evaluator(index, registry, as_of, stop);
  const CountrySet answer = evaluator.Countries(query);
  const Bits selection = evaluator.Selection(query, answer);
  std::vector<ValueBits> values =
      evaluator.Values(dimension, selection, answer, CountsRecords(measure),
                       kMaxBreakdownBuckets);
  if (evaluator.stopped()) return evaluator.stop_status();
  if (static_cast<int>(values.size()) > kMaxBreakdownBuckets) {
    return TooLarge("buckets", static_cast<int64_t>(values.size()),
                    kMaxBreakdownBuckets,
                    "narrow the query or pick a dimension with fewer values");
  }
  auto count_of = [measure](const ValueBits& value) {
    return CountsRecords(measure) ? value.tally.records
                                  : int64_t{value.tally.found};
  };
  std::sort(values.begin(), values.end(),
            [&](const ValueBits& a, const ValueBits& b) {
              const int64_t count_a = count_of(a);
              const int64_t count_b = count_of(b);
              if (count_a != count_b) return count_a > count_b;
              return a.value < b.value;
            });
  stats::v1::BreakdownResponse response;
  for (ValueBits& value : values) {
    stats::v1::Bucket* bucket = response.add_buckets();
    bucket->set_value(std::move(value.value));
    bucket->set_count(Clamp(count_of(value)));
    const Answer described = Describe(evaluator, value.tally.countries);
    for (CountryId country : described.countries) {
      bucket->add_countries(index.country_code(country));
    }
    bucket->set_footnote(FootnoteOf(index, described));
  }
  SetAsOf(as_of, response.mutable_as_of());
  return response;
}

absl::StatusOr<stats::v1::CrossTabulateResponse> CrossTabulate(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, Dimension row_dimension,
    Dimension column_dimension, Measure measure, const StopWhen& stop) {
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
  Evaluator evaluator(index, registry, as_of, stop);
  const CountrySet answer = evaluator.Countries(query);
  const Bits selection = evaluator.Selection(query, answer);
  const bool records = CountsRecords(measure);
  constexpr std::string_view kNarrower =
      "narrow the query or pick dimensions with fewer values";
  std::vector<ValueBits> rows = evaluator.Values(
      row_dimension, selection, answer, false, kMaxCrossTabulateCells);
  if (evaluator.stopped()) return evaluator.stop_status();
  const int max_columns =
      kMaxCrossTabulateCells / std::max(1, static_cast<int>(rows.size()));
  std::vector<ValueBits> columns =
      evaluator.Values(column_dimension, selection, answer, false, max_columns);
  if (evaluator.stopped()) return evaluator.stop_status();
  const int64_t cells =
      static_cast<int64_t>(rows.size()) * static_cast<int64_t>(columns.size());
  if (cells > kMaxCrossTabulateCells) {
    return TooLarge("cells", cells, kMaxCrossTabulateCells, kNarrower);
  }
  auto by_value = [](const ValueBits& a, const ValueBits& b) {
    return a.value < b.value;
  };
  std::sort(rows.begin(), rows.end(), by_value);
  std::sort(columns.begin(), columns.end(), by_value);

  stats::v1::CrossTabulateResponse response;
  for (const ValueBits& column : columns) {
    response.add_column_values(column.value);
  }
  for (const ValueBits& row : rows) {
    stats::v1::CrossTabulateRow* out = response.add_rows();
    out->set_value(row.value);
    for (const ValueBits& column : columns) {
      // Only countries in both margins can be in the cell.
      const int bound = row.tally.countries.CountAnd(column.tally.countries);
      int64_t count = 0;
      if (bound > 0 && evaluator.Spend(selection.size())) {
        const Tally cell =
            evaluator.CountCell(selection, row, column, bound, records);
        count = records ? cell.records : cell.found;
      }
      out->add_counts(Clamp(count));
    }
  }
  if (evaluator.stopped()) return evaluator.stop_status();
  SetAsOf(as_of, response.mutable_as_of());
  return response;
}

absl::StatusOr<stats::v1::ShareResponse> Share(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& part, const CountryQuery& whole,
    const StopWhen& stop) {
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

  Evaluator evaluator(index, registry, as_of, stop);
  const CountrySet part_countries = evaluator.Countries(part);
  const CountrySet whole_countries = evaluator.Countries(whole);
  if (evaluator.stopped()) return evaluator.stop_status();
  const Answer part_answer = Describe(evaluator, part_countries);
  const Answer whole_answer = Describe(evaluator, whole_countries);
  const int part_count = static_cast<int>(part_answer.countries.size());
  const int whole_count = static_cast<int>(whole_answer.countries.size());

  stats::v1::ShareResponse response;
  response.set_part_count(part_count);
  response.set_whole_count(whole_count);
  response.set_part_footnote(FootnoteOf(index, part_answer));
  response.set_whole_footnote(FootnoteOf(index, whole_answer));
  if (whole_count == 0) {
    response.set_percent(0);
    response.set_text(
        absl::StrFormat("%d of 0, no share: the whole is empty", part_count));
  } else {
    // Rounded half away from zero on the tenths, from integers so that
    // 5 of 9 gives exactly the double nearest 55.6.
    const int64_t tenths =
        (int64_t{part_count} * 2000 + whole_count) / (2 * int64_t{whole_count});
    const double percent = static_cast<double>(tenths) / 10.0;
    response.set_percent(percent);
    response.set_text(
        absl::StrFormat("%d of %d, %.1f%%", part_count, whole_count, percent));
  }
  SetAsOf(as_of, response.mutable_as_of());
  return response;
}

absl::StatusOr<stats::v1::ExplainResponse> Explain(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, const StopWhen& stop) {
  if (absl::Status status = ValidateQuery(query, registry, "query");
      !status.ok()) {
    return status;
  }
  Evaluator evaluator(index, registry, as_of, stop);
  const CountrySet answer = evaluator.Countries(query);
  const Bits selection = evaluator.Selection(query, answer);
  if (evaluator.stopped()) return evaluator.stop_status();
  int64_t selected = 0;
  for (Word word : selection) selected += PopCount(word);
  if (selected > kMaxExplainRecords) {
    return TooLarge("records", selected, kMaxExplainRecords,
                    "narrow the query");
  }
  std::vector<std::vector<Slot>> slots(index.country_count());
  for (size_t i = 0; i < selection.size(); ++i) {
    for (Word word = selection[i]; word != 0; word &= word - 1) {
      const Slot slot = static_cast<Slot>(i * kWordBits + LowestBit(word));
      slots[index.country(slot)].push_back(slot);
    }
  }
  const Answer described = Describe(evaluator, answer);
  stats::v1::ExplainResponse response;
  for (CountryId id : described.countries) {
    stats::v1::CountryExplanation* country = response.add_countries();
    country->set_country(index.country_code(id));
    country->set_emn_status(evaluator.Status(id));
    std::vector<Slot>& records = slots[id];
    std::sort(records.begin(), records.end(),
              [&index](Slot a, Slot b) { return index.id(a) < index.id(b); });
    for (Slot slot : records) {
      stats::v1::RecordEvidence* evidence = country->add_records();
      evidence->set_record_id(std::string(index.id(slot)));
      evidence->set_kind(index.kind(slot));
      evidence->set_title(std::string(index.title(slot)));
      index.AppendSources(slot, evidence->mutable_sources());
    }
  }
  response.set_footnote(FootnoteOf(index, described));
  SetAsOf(as_of, response.mutable_as_of());
  return response;
}

}  // namespace thb::aggregator
