#ifndef THB_SERVICES_AGGREGATOR_QUERY_ENGINE_INTERNAL_H_
#define THB_SERVICES_AGGREGATOR_QUERY_ENGINE_INTERNAL_H_

// What the rooms of the statistics engine share: sets of countries, a filter
// compiled against the index, the evaluator of queries over it, and the
// writing of an answer's countries. For the engine's own files only; its API
// is query_engine.h.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "domain/footnote.h"
#include "services/aggregator/query_engine.h"
#include "services/aggregator/record_index.h"
#include "services/registry/client/registry_snapshot.h"
#include "thb/stats/v1/stats_service.pb.h"

namespace thb::aggregator::internal {

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
inline int LowestBit(Word word) { return __builtin_ctzll(word); }

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

// The table of `as_of` for `index` under `registry`, shared by every query
// (query_status_table.cc).
std::shared_ptr<const StatusTable> StatusTableOf(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of);

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
                      std::string_view advice);

// Evaluates queries over one index, with the EMN statuses of one day, within
// one computation's budget (StopWhen). Its members live with the idea they
// serve: planning and evaluating filters (query_plan.cc), counting
// (query_counting.cc), the values of a dimension (query_breakdown.cc).
class Evaluator {
 public:
  Evaluator(const RecordIndex& index,
            const registry::RegistrySnapshot& registry, absl::CivilDay as_of,
            const StopWhen& stop)
      : index_(index),
        words_(index.words()),
        statuses_(StatusTableOf(index, registry, as_of)),
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
  CountrySet Countries(const CountryQuery& query);

  // The records behind `answer`: those of the filters that add countries,
  // reported by a country of the answer.
  Bits Selection(const CountryQuery& query, const CountrySet& answer);

  // Countries and records of the AND of `parts` (all over the first
  // `words`), where at most `bound` countries can be found; records are
  // counted only when `records` is set.
  template <size_t N>
  Tally Count(const std::array<const Word*, N>& parts, size_t words, int bound,
              bool records) const;

  Tally CountValue(const Bits& selection, const ValueBits& value, int bound,
                   bool records) const;

  Tally CountCell(const Bits& selection, const ValueBits& row,
                  const ValueBits& column, int bound, bool records) const;

  // The values of `dimension` among the selected records, with a count
  // bounded by the answer's size. Stops at `max_values` + 1 values: a
  // caller that gets more than `max_values` refuses the answer, and the
  // values of a field grow with the data (tags, partners).
  std::vector<ValueBits> Values(Dimension dimension, const Bits& selection,
                                const CountrySet& answer, bool records,
                                int max_values);

  const RecordIndex& index() const { return index_; }

 private:
  // The countries of one filter, stopping once every country it could
  // select is found. Blocks start small and double: the last country is
  // often found within the first few hundred words, and a full block of
  // kBlockWords would evaluate, and walk the bits of, far more than that.
  CountrySet LeafCountries(const Plan& plan) const;

  Plan Compile(const RecordFilter& filter);

  // Every record the filter selects.
  Bits LeafSelection(const Plan& plan) const;

  static void PositiveFilters(const CountryQuery& query,
                              std::vector<const RecordFilter*>& out);

  std::vector<std::pair<std::string, Bits>> YearValues(const Bits& selection);

  bool Passes(const Plan& plan, Slot slot) const;

  // Words [begin, end) of the AND of ORs into `out`, before the slot checks.
  void Evaluate(const Plan& plan, size_t begin, size_t end, Word* out,
                Word* scratch) const;

  const RecordIndex& index_;
  const size_t words_;
  const std::shared_ptr<const StatusTable> statuses_;
  // Spent by const evaluation too: a budget, not the state of an answer.
  mutable Stopper stop_;
};

// An answer's countries in study order, judged once: Members, Observers,
// then the rest, each group by code.
struct Answer {
  std::vector<CountryId> countries;
  int members = 0;
  int observers = 0;
};

// The countries of `set` in study order (query_answer.cc, with the rest of
// what writes an answer).
Answer Describe(Evaluator& evaluator, const CountrySet& set);

// domain::StudyFootnote of the answer's countries.
std::string FootnoteOf(const RecordIndex& index, const Answer& answer);

void SetAsOf(absl::CivilDay as_of, stats::v1::AsOf* out);

inline bool CountsRecords(Measure measure) {
  return measure == stats::v1::MEASURE_RECORDS;
}

inline int32_t Clamp(int64_t count) {
  return static_cast<int32_t>(
      std::min<int64_t>(count, std::numeric_limits<int32_t>::max()));
}

// The checks of each answer's arguments besides its queries' (ValidateQuery),
// in the order the answer makes them: the first fault found is the one
// named (query_validation.cc).
absl::Status ValidateBreakdown(const CountryQuery& query,
                               const registry::RegistrySnapshot& registry,
                               Dimension dimension, Measure measure);
absl::Status ValidateCrossTabulate(const CountryQuery& query,
                                   const registry::RegistrySnapshot& registry,
                                   Dimension row_dimension,
                                   Dimension column_dimension, Measure measure);
absl::Status ValidateShare(const CountryQuery& part, const CountryQuery& whole,
                           const registry::RegistrySnapshot& registry);

// The answers of query_engine.h for arguments already validated: the service
// validates a request once, under the names its caller gave, and computes
// the answer of its canonical form.
absl::StatusOr<stats::v1::CountCountriesResponse> ComputeCountCountries(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, const StopWhen& stop);
absl::StatusOr<stats::v1::BreakdownResponse> ComputeBreakdown(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, Dimension dimension,
    Measure measure, const StopWhen& stop);
absl::StatusOr<stats::v1::CrossTabulateResponse> ComputeCrossTabulate(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, Dimension row_dimension,
    Dimension column_dimension, Measure measure, const StopWhen& stop);
absl::StatusOr<stats::v1::ShareResponse> ComputeShare(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& part, const CountryQuery& whole,
    const StopWhen& stop);
absl::StatusOr<stats::v1::ExplainResponse> ComputeExplain(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, const StopWhen& stop);

}  // namespace thb::aggregator::internal

#endif  // THB_SERVICES_AGGREGATOR_QUERY_ENGINE_INTERNAL_H_
