#include "services/aggregator/record_index.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/hash/hash.h"
#include "common/string_view.h"
#include "domain/country_code.h"
#include "domain/record_filter.h"

namespace thb::aggregator {
namespace {

using cooperation::v1::CooperationRecord;

// Layout of a record's text allocation: three uint16_t sizes (id, title,
// source count), the id, the title, then the source ids (unaligned).
constexpr size_t kTextHeader = 3 * sizeof(uint16_t);
constexpr size_t kMaxTextField = std::numeric_limits<uint16_t>::max();

uint16_t ReadU16(const char* text, int index) {
  uint16_t value;
  std::memcpy(&value, text + index * sizeof(uint16_t), sizeof(value));
  return value;
}

void WriteU16(char* text, int index, uint16_t value) {
  std::memcpy(text + index * sizeof(uint16_t), &value, sizeof(value));
}

// Bytes malloc really hands out for a request: a header word, rounded up to
// 16 bytes, at least 32 (the common allocator on Linux).
size_t Allocated(size_t requested) {
  if (requested == 0) return 0;
  return std::max<size_t>(32, (requested + sizeof(size_t) + 15) & ~size_t{15});
}

template <typename T>
size_t VectorBytes(const std::vector<T>& vector) {
  return Allocated(vector.capacity() * sizeof(T));
}

size_t StringBytes(const std::string& text) {
  // Short strings live inside the object.
  return text.capacity() > 15 ? Allocated(text.capacity() + 1) : 0;
}

template <typename Map>
size_t HashTableBytes(const Map& map) {
  return Allocated(map.capacity() * (sizeof(typename Map::value_type) + 1));
}

std::string SourceKey(const registry::v1::Source& source) {
  return source.SerializeAsString();
}

uint64_t NextCountryGeneration() {
  static std::atomic<uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace

size_t RecordIndex::IdHash::operator()(Slot slot) const {
  return (*this)(index->id(slot));
}

size_t RecordIndex::IdHash::operator()(std::string_view id) const {
  return absl::Hash<absl::string_view>()(ToAbsl(id));
}

bool RecordIndex::IdEq::operator()(Slot a, std::string_view b) const {
  return index->id(a) == b;
}

bool RecordIndex::IdEq::operator()(std::string_view a, Slot b) const {
  return a == index->id(b);
}

RecordIndex::RecordIndex()
    : country_generation_(NextCountryGeneration()),
      ids_(0, IdHash{this}, IdEq{this}) {}

std::string_view RecordIndex::id(Slot slot) const {
  const char* text = text_[slot].get();
  return std::string_view(text + kTextHeader, ReadU16(text, 0));
}

std::string_view RecordIndex::title(Slot slot) const {
  const char* text = text_[slot].get();
  const uint16_t id_size = ReadU16(text, 0);
  return std::string_view(text + kTextHeader + id_size, ReadU16(text, 1));
}

uint32_t RecordIndex::source_ids_size(Slot slot) const {
  return ReadU16(text_[slot].get(), 2);
}

RecordIndex::SourceId RecordIndex::source_id(Slot slot, uint32_t i) const {
  const char* text = text_[slot].get();
  const size_t offset =
      kTextHeader + ReadU16(text, 0) + ReadU16(text, 1) + i * sizeof(SourceId);
  SourceId id;
  std::memcpy(&id, text + offset, sizeof(id));
  return id;
}

void RecordIndex::AppendSources(
    Slot slot,
    google::protobuf::RepeatedPtrField<registry::v1::Source>* out) const {
  const uint32_t count = source_ids_size(slot);
  for (uint32_t i = 0; i < count; ++i) {
    *out->Add() = sources_[source_id(slot, i)].source;
  }
}

std::optional<RecordIndex::Slot> RecordIndex::FindSlot(
    std::string_view id) const {
  auto it = ids_.find(id);
  if (it == ids_.end()) return std::nullopt;
  return *it;
}

std::optional<int64_t> RecordIndex::RevisionOf(const std::string& id) const {
  if (auto slot = FindSlot(id)) return revision_[*slot];
  if (auto it = tombstones_.find(id); it != tombstones_.end()) {
    return it->second;
  }
  return std::nullopt;
}

std::optional<RecordIndex::CountryId> RecordIndex::FindCountry(
    std::string_view code) const {
  auto it = country_ids_.find(ToAbsl(code));
  if (it == country_ids_.end()) return std::nullopt;
  return it->second;
}

size_t RecordIndex::value_count(Field field) const {
  return postings(field).bits.size();
}

const RecordIndex::Bits* RecordIndex::posting(Field field,
                                              uint32_t value) const {
  const Postings& p = postings(field);
  if (value >= p.bits.size()) return nullptr;
  return &p.bits[value];
}

const RecordIndex::Bits& RecordIndex::value_countries(Field field,
                                                      uint32_t value) const {
  static const Bits* const kNone = new Bits;
  const Postings& p = postings(field);
  return value < p.country_bits.size() ? p.country_bits[value] : *kNone;
}

const std::vector<uint32_t>& RecordIndex::value_country_records(
    Field field, uint32_t value) const {
  static const std::vector<uint32_t>* const kNone = new std::vector<uint32_t>;
  const Postings& p = postings(field);
  return value < p.country_records.size() ? p.country_records[value] : *kNone;
}

std::string_view RecordIndex::value_name(Field field, uint32_t value) const {
  if (field == Field::kReportingCountry) return countries_[value];
  const Postings& p = postings(field);
  return value < p.names.size() ? std::string_view(p.names[value])
                                : std::string_view();
}

std::optional<uint32_t> RecordIndex::FindValue(Field field,
                                               std::string_view name) const {
  if (field == Field::kReportingCountry) return FindCountry(name);
  const Postings& p = postings(field);
  auto it = p.ids.find(ToAbsl(name));
  if (it == p.ids.end()) return std::nullopt;
  return it->second;
}

void RecordIndex::Set(Field field, uint32_t value, Slot slot) {
  Postings& p = postings(field);
  if (value >= p.bits.size()) {
    p.bits.resize(value + 1);
    p.records.resize(value + 1, 0);
  }
  if (value >= p.country_records.size()) {
    p.country_records.resize(value + 1);
    p.country_bits.resize(value + 1);
  }
  Bits& bits = p.bits[value];
  const size_t word = slot / kWordBits;
  if (word >= bits.size()) bits.resize(word + 1, 0);
  const Word mask = Word{1} << (slot % kWordBits);
  if ((bits[word] & mask) == 0) {
    bits[word] |= mask;
    ++p.records[value];
    std::vector<uint32_t>& counts = p.country_records[value];
    const CountryId country = country_[slot];
    if (country >= counts.size()) counts.resize(country + 1, 0);
    if (counts[country]++ == 0) {
      Bits& countries = p.country_bits[value];
      const size_t country_word = country / kWordBits;
      if (country_word >= countries.size()) {
        countries.resize(country_word + 1, 0);
      }
      countries[country_word] |= Word{1} << (country % kWordBits);
    }
  }
}

uint32_t RecordIndex::Intern(Field field, const std::string& name) {
  Postings& p = postings(field);
  auto [it, inserted] =
      p.ids.try_emplace(name, static_cast<uint32_t>(p.names.size()));
  if (inserted) {
    p.names.push_back(name);
    p.bits.emplace_back();
    p.records.push_back(0);
    p.country_records.emplace_back();
    p.country_bits.emplace_back();
  }
  return it->second;
}

RecordIndex::CountryId RecordIndex::InternCountry(
    const std::string& canonical_code) {
  auto [it, inserted] = country_ids_.try_emplace(
      canonical_code, static_cast<CountryId>(countries_.size()));
  if (inserted) {
    countries_.push_back(canonical_code);
    // New countries are rare (a few dozen in all), so keeping the order
    // by insertion costs nothing that matters.
    auto position = std::lower_bound(
        countries_by_code_.begin(), countries_by_code_.end(), canonical_code,
        [this](CountryId country, const std::string& code) {
          return countries_[country] < code;
        });
    countries_by_code_.insert(position, it->second);
  }
  return it->second;
}

RecordIndex::SourceId RecordIndex::InternSource(
    const registry::v1::Source& source) {
  std::string key = SourceKey(source);
  auto it = source_ids_.find(key);
  if (it != source_ids_.end()) {
    ++sources_[it->second].references;
    return it->second;
  }
  SourceId id;
  if (!free_sources_.empty()) {
    id = free_sources_.back();
    free_sources_.pop_back();
  } else {
    id = static_cast<SourceId>(sources_.size());
    sources_.emplace_back();
  }
  sources_[id].source = source;
  sources_[id].references = 1;
  source_ids_.emplace(std::move(key), id);
  return id;
}

void RecordIndex::ReleaseSource(SourceId id) {
  SourceEntry& entry = sources_[id];
  if (--entry.references > 0) return;
  source_ids_.erase(SourceKey(entry.source));
  entry.source.Clear();
  free_sources_.push_back(id);
}

RecordIndex::Slot RecordIndex::Allocate() {
  if (!free_slots_.empty()) {
    const Slot slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  const Slot slot = static_cast<Slot>(country_.size());
  country_.push_back(0);
  start_year_.push_back(0);
  end_year_.push_back(0);
  revision_.push_back(0);
  kind_.push_back(0);
  text_.emplace_back();
  return slot;
}

void RecordIndex::Vacate(Slot slot) {
  const size_t word = slot / kWordBits;
  const Word mask = Word{1} << (slot % kWordBits);
  // The slot still holds the country its bits were counted under.
  const CountryId country = country_[slot];
  for (Postings& p : postings_) {
    for (size_t value = 0; value < p.bits.size(); ++value) {
      Bits& bits = p.bits[value];
      if (word < bits.size() && (bits[word] & mask) != 0) {
        bits[word] &= ~mask;
        --p.records[value];
        if (--p.country_records[value][country] == 0) {
          p.country_bits[value][country / kWordBits] &=
              ~(Word{1} << (country % kWordBits));
        }
      }
    }
  }
  live_[word] &= ~mask;
  if (text_[slot] != nullptr) {
    const uint32_t count = source_ids_size(slot);
    for (uint32_t i = 0; i < count; ++i) ReleaseSource(source_id(slot, i));
  }
}

void RecordIndex::Fill(Slot slot, const CooperationRecord& record) {
  namespace v1 = cooperation::v1;
  const size_t word = slot / kWordBits;
  if (word >= live_.size()) live_.resize(word + 1, 0);
  live_[word] |= Word{1} << (slot % kWordBits);
  // Before any posting: each counts the slot under its country.
  country_[slot] =
      InternCountry(domain::CanonicalCountryCode(record.reporting_country()));

  // Enum values outside the enum cannot be asked for (filters refuse them),
  // and must not size a posting table.
  if (v1::RecordKind_IsValid(record.kind())) {
    Set(Field::kKind, record.kind(), slot);
    kind_[slot] = static_cast<uint8_t>(record.kind());
  } else {
    kind_[slot] = 0;
  }
  for (int area : record.thematic_areas()) {
    if (v1::ThematicArea_IsValid(area)) Set(Field::kThematicArea, area, slot);
  }
  if (v1::CooperationForm_IsValid(record.form())) {
    Set(Field::kForm, record.form(), slot);
  }
  for (const v1::Partner& partner : record.partners()) {
    const bool known_kind = v1::PartnerKind_IsValid(partner.kind());
    if (known_kind) Set(Field::kPartnerKind, partner.kind(), slot);
    if (!partner.id().empty()) {
      Set(Field::kPartnerId, Intern(Field::kPartnerId, partner.id()), slot);
    } else if (known_kind) {
      Set(Field::kAnonymousPartner, partner.kind(), slot);
    }
  }
  for (const std::string& region : record.target_regions()) {
    Set(Field::kTargetRegion, Intern(Field::kTargetRegion, region), slot);
  }
  for (const std::string& tag : record.tags()) {
    Set(Field::kTag, Intern(Field::kTag, tag), slot);
  }
  Set(Field::kReportingCountry, country_[slot], slot);
  start_year_[slot] = record.start_year();
  end_year_[slot] = record.end_year();
  revision_[slot] = record.revision();

  const std::string& id = record.id();
  const std::string_view title =
      std::string_view(record.title()).substr(0, kMaxTextField);
  const size_t sources = std::min<size_t>(record.sources_size(), kMaxTextField);
  Text text(new char[kTextHeader + id.size() + title.size() +
                     sources * sizeof(SourceId)]);
  WriteU16(text.get(), 0, static_cast<uint16_t>(id.size()));
  WriteU16(text.get(), 1, static_cast<uint16_t>(title.size()));
  WriteU16(text.get(), 2, static_cast<uint16_t>(sources));
  char* out = text.get() + kTextHeader;
  std::memcpy(out, id.data(), id.size());
  out += id.size();
  std::memcpy(out, title.data(), title.size());
  out += title.size();
  for (size_t i = 0; i < sources; ++i) {
    const SourceId source = InternSource(record.sources(static_cast<int>(i)));
    std::memcpy(out, &source, sizeof(source));
    out += sizeof(source);
  }
  text_[slot] = std::move(text);
}

bool RecordIndex::Upsert(const CooperationRecord& record) {
  // An id too long for the slot layout cannot come from the store (ids are
  // at most 63 characters); refusing it keeps lookups exact.
  if (record.id().empty() || record.id().size() > kMaxTextField) return false;
  auto existing = ids_.find(std::string_view(record.id()));
  if (existing != ids_.end()) {
    const Slot slot = *existing;
    if (record.revision() <= revision_[slot]) return false;
    // The id, and so the slot's hash, stays the same.
    Vacate(slot);
    Fill(slot, record);
    return true;
  }
  if (auto tombstone = tombstones_.find(record.id());
      tombstone != tombstones_.end()) {
    if (record.revision() <= tombstone->second) return false;
    tombstones_.erase(tombstone);
  }
  const Slot slot = Allocate();
  Fill(slot, record);
  ids_.insert(slot);
  return true;
}

bool RecordIndex::Remove(const std::string& id, int64_t revision) {
  auto existing = ids_.find(std::string_view(id));
  if (existing != ids_.end()) {
    const Slot slot = *existing;
    if (revision <= revision_[slot]) return false;
    ids_.erase(existing);
    Vacate(slot);
    text_[slot].reset();
    free_slots_.push_back(slot);
    tombstones_[id] = revision;
    return true;
  }
  auto [tombstone, inserted] = tombstones_.try_emplace(id, revision);
  if (!inserted) tombstone->second = std::max(tombstone->second, revision);
  return false;
}

void RecordIndex::Clear() {
  ids_.clear();
  for (Postings& p : postings_) p = Postings();
  live_.clear();
  country_.clear();
  start_year_.clear();
  end_year_.clear();
  revision_.clear();
  kind_.clear();
  text_.clear();
  free_slots_.clear();
  country_generation_ = NextCountryGeneration();
  countries_.clear();
  countries_by_code_.clear();
  country_ids_.clear();
  sources_.clear();
  free_sources_.clear();
  source_ids_.clear();
  tombstones_.clear();
}

void RecordIndex::ForgetDeletionsThrough(int64_t revision) {
  absl::erase_if(tombstones_, [revision](const auto& tombstone) {
    return tombstone.second <= revision;
  });
}

size_t RecordIndex::MemoryBytes() const {
  size_t bytes = VectorBytes(live_);
  for (const Postings& p : postings_) {
    bytes += VectorBytes(p.bits) + VectorBytes(p.records) +
             VectorBytes(p.country_records) + VectorBytes(p.names) +
             HashTableBytes(p.ids);
    for (const Bits& bits : p.bits) bytes += VectorBytes(bits);
    bytes += VectorBytes(p.country_bits);
    for (const auto& counts : p.country_records) bytes += VectorBytes(counts);
    for (const Bits& countries : p.country_bits) {
      bytes += VectorBytes(countries);
    }
    for (const std::string& name : p.names) bytes += StringBytes(name);
  }
  bytes += VectorBytes(country_) + VectorBytes(start_year_) +
           VectorBytes(end_year_) + VectorBytes(revision_) +
           VectorBytes(kind_) + VectorBytes(text_) + VectorBytes(free_slots_);
  for (Slot slot = 0; slot < text_.size(); ++slot) {
    if (text_[slot] == nullptr) continue;
    bytes += Allocated(kTextHeader + id(slot).size() + title(slot).size() +
                       source_ids_size(slot) * sizeof(SourceId));
  }
  bytes += VectorBytes(countries_) + VectorBytes(countries_by_code_) +
           HashTableBytes(country_ids_);
  bytes += VectorBytes(sources_) + VectorBytes(free_sources_) +
           HashTableBytes(source_ids_);
  for (const SourceEntry& entry : sources_) {
    bytes += entry.source.SpaceUsedLong() - sizeof(entry.source);
  }
  for (const auto& [key, id] : source_ids_) bytes += StringBytes(key);
  bytes += HashTableBytes(ids_) + HashTableBytes(tombstones_);
  for (const auto& [id, revision] : tombstones_) bytes += StringBytes(id);
  return bytes;
}

}  // namespace thb::aggregator
