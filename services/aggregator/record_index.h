#ifndef THB_SERVICES_AGGREGATOR_RECORD_INDEX_H_
#define THB_SERVICES_AGGREGATOR_RECORD_INDEX_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "google/protobuf/repeated_field.h"
#include "thb/cooperation/v1/cooperation.pb.h"
#include "thb/registry/v1/registry.pb.h"

namespace thb::aggregator {

// Cooperation records laid out for statistics. Each record lives in a dense
// slot; every value of every filterable field has a posting bitset over the
// slots, so a filter is a few word-wise ANDs and ORs, and per-slot arrays
// hold what a bitset cannot (reporting country, period) and what an
// explanation shows (id, kind, title, sources). Sources are interned: many
// records cite the same one.
//
// Changes are idempotent by revision, so list+watch may replay them: a change
// whose revision is not above the one the index holds for its id is ignored,
// and a removal leaves a tombstone with its revision, so that a create
// replayed after the delete that followed it stays deleted.
//
// Not thread-safe: writers need exclusive access, queries (const) shared
// access. Neither copyable nor movable (the id table refers back to the
// index); hold it by pointer to swap in a rebuilt one.
class RecordIndex {
 public:
  using Word = uint64_t;
  // One bit per slot; a bitset may be shorter than words(), the missing
  // words being zero.
  using Bits = std::vector<Word>;
  using Slot = uint32_t;
  using CountryId = uint16_t;
  using SourceId = uint32_t;

  static constexpr int kWordBits = 64;

  // The fields with posting bitsets. Enum fields are indexed by the enum
  // number; string fields by the order their values were first seen.
  enum class Field {
    kKind,
    kThematicArea,
    kForm,
    kPartnerKind,
    // Partners with an id ("IOM", "GE").
    kPartnerId,
    // Partners without an id, by their kind's number.
    kAnonymousPartner,
    kTargetRegion,
    // By CountryId.
    kReportingCountry,
    kTag,
  };
  static constexpr int kFieldCount = 9;

  RecordIndex();
  RecordIndex(const RecordIndex&) = delete;
  RecordIndex& operator=(const RecordIndex&) = delete;

  // Adds or replaces the record with `record.id()`, unless the index holds a
  // revision of that id (live or deleted) at or above `record.revision()`.
  // Returns whether the record was applied. The reporting country is stored
  // canonical ("GR" as "EL").
  bool Upsert(const cooperation::v1::CooperationRecord& record);
  // Removes the record `id`, unless the index holds a revision of it at or
  // above `revision`; either way remembers the deletion's revision (when
  // higher) against stale creates. Returns whether a live record went.
  bool Remove(const std::string& id, int64_t revision);
  // Empties the index, tombstones included (before a fresh list).
  void Clear();
  // Drops the tombstones of deletions at or below `revision`: once a list at
  // a revision R has been applied, no change at or below R can arrive again.
  void ForgetDeletionsThrough(int64_t revision);

  // Live records.
  size_t size() const { return ids_.size(); }
  size_t tombstones() const { return tombstones_.size(); }
  // Heap bytes held, estimated from capacities and allocation sizes (the
  // usual allocator's rounding included). Walks every slot: for reports, not
  // for every request.
  size_t MemoryBytes() const;
  // The revision held for `id`, live or deleted.
  std::optional<int64_t> RevisionOf(const std::string& id) const;

  // --- Read side, for the query engine. ---

  // Words covering every slot ever used.
  size_t words() const { return (slot_count() + kWordBits - 1) / kWordBits; }
  size_t slot_count() const { return country_.size(); }
  const Bits& live() const { return live_; }
  std::optional<Slot> FindSlot(std::string_view id) const;

  CountryId country(Slot slot) const { return country_[slot]; }
  const CountryId* country_data() const { return country_.data(); }
  int32_t start_year(Slot slot) const { return start_year_[slot]; }
  int32_t end_year(Slot slot) const { return end_year_[slot]; }
  int64_t revision(Slot slot) const { return revision_[slot]; }
  cooperation::v1::RecordKind kind(Slot slot) const {
    return static_cast<cooperation::v1::RecordKind>(kind_[slot]);
  }
  std::string_view id(Slot slot) const;
  std::string_view title(Slot slot) const;
  void AppendSources(
      Slot slot,
      google::protobuf::RepeatedPtrField<registry::v1::Source>* out) const;
  // Distinct sources held (interning works when this stays small).
  size_t source_count() const { return sources_.size() - free_sources_.size(); }

  // Countries ever seen, by CountryId.
  size_t country_count() const { return countries_.size(); }
  // Unique in the process and renewed by Clear: while it stays the same,
  // every CountryId keeps its code (new countries only add ids), so what a
  // cache derives per CountryId stays right.
  uint64_t country_generation() const { return country_generation_; }
  const std::string& country_code(CountryId country) const {
    return countries_[country];
  }
  // By canonical code.
  std::optional<CountryId> FindCountry(std::string_view code) const;
  // Every CountryId, ordered by code: answers list countries by code, and
  // walking this list spares each query a sort of strings.
  const std::vector<CountryId>& countries_by_code() const {
    return countries_by_code_;
  }

  // Values of `field` (enum numbers, string ids or CountryIds are below
  // this bound); a value may have no live record.
  size_t value_count(Field field) const;
  // Null when the value was never seen.
  const Bits* posting(Field field, uint32_t value) const;
  // Live records with the value.
  uint32_t value_records(Field field, uint32_t value) const {
    const Postings& p = postings(field);
    return value < p.records.size() ? p.records[value] : 0;
  }
  // Live records with the value reported by `country`. A filter's answer
  // can only hold countries that have records with one of its values in
  // every field it names, and a scan may stop once it has found them all.
  // Indexed by CountryId; may be shorter than the countries (the missing
  // ones have none).
  const std::vector<uint32_t>& value_country_records(Field field,
                                                     uint32_t value) const;
  // The countries with a live record with the value, one bit per CountryId
  // (possibly fewer words than the countries need): what a query combines,
  // a word for 64 countries.
  const Bits& value_countries(Field field, uint32_t value) const;
  // The name of a string field's value ("IOM", "SAHEL", "low-trust") or of
  // a reporting country; "" for enum fields (the engine names enums).
  std::string_view value_name(Field field, uint32_t value) const;
  // A string field's value by name.
  std::optional<uint32_t> FindValue(Field field, std::string_view name) const;

 private:
  struct Postings {
    std::vector<Bits> bits;
    std::vector<uint32_t> records;
    // Per value, live records per reporting country (may be shorter than
    // the countries; missing ones have none).
    std::vector<std::vector<uint32_t>> country_records;
    // Per value, the countries whose count above is not zero.
    std::vector<Bits> country_bits;
    // String fields only.
    std::vector<std::string> names;
    absl::flat_hash_map<std::string, uint32_t> ids;
  };

  // Interned source with a count of the slots citing it.
  struct SourceEntry {
    registry::v1::Source source;
    uint32_t references = 0;
  };

  // Id lookup without a second copy of every id: the set holds slots and
  // hashes them by the id stored with the slot.
  struct IdHash {
    using is_transparent = void;
    const RecordIndex* index;
    size_t operator()(Slot slot) const;
    size_t operator()(std::string_view id) const;
  };
  struct IdEq {
    using is_transparent = void;
    const RecordIndex* index;
    bool operator()(Slot a, Slot b) const { return a == b; }
    bool operator()(Slot a, std::string_view b) const;
    bool operator()(std::string_view a, Slot b) const;
  };

  // One allocation per record: the id, the title and the source ids.
  struct TextDeleter {
    void operator()(char* text) const { delete[] text; }
  };
  using Text = std::unique_ptr<char[], TextDeleter>;

  Postings& postings(Field field) { return postings_[static_cast<int>(field)]; }
  const Postings& postings(Field field) const {
    return postings_[static_cast<int>(field)];
  }
  // Sets the slot's bit in the value's posting; the slot's country must
  // already be stored.
  void Set(Field field, uint32_t value, Slot slot);
  uint32_t Intern(Field field, const std::string& name);
  CountryId InternCountry(const std::string& canonical_code);
  SourceId InternSource(const registry::v1::Source& source);
  void ReleaseSource(SourceId id);
  uint32_t source_ids_size(Slot slot) const;
  SourceId source_id(Slot slot, uint32_t i) const;

  Slot Allocate();
  // Clears the slot from every posting and releases its sources; the slot
  // stays allocated.
  void Vacate(Slot slot);
  void Fill(Slot slot, const cooperation::v1::CooperationRecord& record);

  std::array<Postings, kFieldCount> postings_;
  Bits live_;

  // Per slot.
  std::vector<CountryId> country_;
  std::vector<int32_t> start_year_;
  std::vector<int32_t> end_year_;
  std::vector<int64_t> revision_;
  std::vector<uint8_t> kind_;
  std::vector<Text> text_;
  std::vector<Slot> free_slots_;

  uint64_t country_generation_;
  std::vector<std::string> countries_;
  std::vector<CountryId> countries_by_code_;
  absl::flat_hash_map<std::string, CountryId> country_ids_;

  std::vector<SourceEntry> sources_;
  std::vector<SourceId> free_sources_;
  absl::flat_hash_map<std::string, SourceId> source_ids_;

  absl::flat_hash_set<Slot, IdHash, IdEq> ids_;
  absl::flat_hash_map<std::string, int64_t> tombstones_;
};

}  // namespace thb::aggregator

#endif  // THB_SERVICES_AGGREGATOR_RECORD_INDEX_H_
