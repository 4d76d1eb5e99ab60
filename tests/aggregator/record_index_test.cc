#include "services/aggregator/record_index.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/synthetic.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace thb::aggregator {
namespace {

using cooperation::v1::CooperationRecord;
using Field = RecordIndex::Field;
using ::testing::Optional;

CooperationRecord Record(const std::string& id, int64_t revision,
                         const std::string& country = "AT",
                         const std::string& title = "a title") {
  CooperationRecord record;
  record.set_id(id);
  record.set_revision(revision);
  record.set_reporting_country(country);
  record.set_kind(cooperation::v1::RECORD_KIND_MEASURE);
  record.set_title(title);
  auto* source = record.add_sources();
  source->set_citation("EMN study");
  source->set_footnote(7);
  return record;
}

// Live records with a value of a field, by the field's posting.
int PostingCount(const RecordIndex& index, Field field, uint32_t value) {
  const RecordIndex::Bits* bits = index.posting(field, value);
  if (bits == nullptr) return 0;
  int count = 0;
  for (RecordIndex::Word word : *bits) count += __builtin_popcountll(word);
  EXPECT_EQ(static_cast<uint32_t>(count), index.value_records(field, value));
  return count;
}

// Each value's records per country, and its set of countries, agree with
// its posting ANDed with the country's, for every field, value and country.
void ExpectCountsPerCountryMatchPostings(const RecordIndex& index) {
  constexpr Field kFields[] = {
      Field::kKind,         Field::kThematicArea,     Field::kForm,
      Field::kPartnerKind,  Field::kPartnerId,        Field::kAnonymousPartner,
      Field::kTargetRegion, Field::kReportingCountry, Field::kTag};
  for (Field field : kFields) {
    for (uint32_t value = 0; value < index.value_count(field); ++value) {
      const RecordIndex::Bits* bits = index.posting(field, value);
      const std::vector<uint32_t>& counts =
          index.value_country_records(field, value);
      for (size_t c = 0; c < index.country_count(); ++c) {
        const RecordIndex::Bits* of_country =
            index.posting(Field::kReportingCountry, static_cast<uint32_t>(c));
        uint32_t expected = 0;
        if (bits != nullptr && of_country != nullptr) {
          for (size_t i = 0; i < std::min(bits->size(), of_country->size());
               ++i) {
            expected += __builtin_popcountll((*bits)[i] & (*of_country)[i]);
          }
        }
        EXPECT_EQ(c < counts.size() ? counts[c] : 0u, expected)
            << "field " << static_cast<int>(field) << " value " << value
            << " country " << index.country_code(c);
        const RecordIndex::Bits& countries =
            index.value_countries(field, value);
        const bool bit = c / 64 < countries.size() &&
                         ((countries[c / 64] >> (c % 64)) & 1) != 0;
        EXPECT_EQ(bit, expected > 0)
            << "field " << static_cast<int>(field) << " value " << value
            << " country " << index.country_code(c);
      }
    }
  }
}

// Codes in the order countries_by_code() gives.
std::vector<std::string> CodesByCode(const RecordIndex& index) {
  std::vector<std::string> codes;
  for (RecordIndex::CountryId c : index.countries_by_code()) {
    codes.push_back(index.country_code(c));
  }
  return codes;
}

std::string TitleOf(const RecordIndex& index, const std::string& id) {
  auto slot = index.FindSlot(id);
  return slot.has_value() ? std::string(index.title(*slot)) : "<absent>";
}

TEST(RecordIndexTest, IgnoresChangesNotNewerThanTheStoredRevision) {
  RecordIndex index;
  EXPECT_TRUE(index.Upsert(Record("r", 5, "AT", "five")));
  EXPECT_FALSE(index.Upsert(Record("r", 3, "AT", "three")));
  EXPECT_FALSE(index.Upsert(Record("r", 5, "AT", "five again")));
  EXPECT_EQ(TitleOf(index, "r"), "five");
  EXPECT_TRUE(index.Upsert(Record("r", 6, "AT", "six")));
  EXPECT_EQ(TitleOf(index, "r"), "six");
  EXPECT_THAT(index.RevisionOf("r"), Optional(6));

  EXPECT_FALSE(index.Remove("r", 4));
  EXPECT_FALSE(index.Remove("r", 6));
  EXPECT_EQ(index.size(), 1u);
  EXPECT_TRUE(index.Remove("r", 7));
  EXPECT_EQ(index.size(), 0u);
  EXPECT_FALSE(index.FindSlot("r").has_value());
}

TEST(RecordIndexTest, AStaleCreateAfterADeleteStaysDeleted) {
  RecordIndex index;
  ASSERT_TRUE(index.Upsert(Record("r", 5)));
  ASSERT_TRUE(index.Remove("r", 8));
  EXPECT_THAT(index.RevisionOf("r"), Optional(8));
  // Replayed history: the create and an update from before the delete.
  EXPECT_FALSE(index.Upsert(Record("r", 5)));
  EXPECT_FALSE(index.Upsert(Record("r", 7)));
  EXPECT_EQ(index.size(), 0u);
  // Re-created later under the same id.
  EXPECT_TRUE(index.Upsert(Record("r", 9, "BE", "again")));
  EXPECT_EQ(TitleOf(index, "r"), "again");
  EXPECT_EQ(index.tombstones(), 0u);
}

TEST(RecordIndexTest, ADeleteOfAnUnknownIdGuardsAgainstItsOlderCreate) {
  RecordIndex index;
  EXPECT_FALSE(index.Remove("r", 10));
  EXPECT_FALSE(index.Remove("r", 4));
  EXPECT_THAT(index.RevisionOf("r"), Optional(10));
  EXPECT_FALSE(index.Upsert(Record("r", 9)));
  EXPECT_TRUE(index.Upsert(Record("r", 11)));
}

TEST(RecordIndexTest, ForgettingDeletionsDropsOnlyOldTombstones) {
  RecordIndex index;
  index.Remove("a", 3);
  index.Remove("b", 5);
  index.ForgetDeletionsThrough(4);
  EXPECT_EQ(index.tombstones(), 1u);
  EXPECT_FALSE(index.RevisionOf("a").has_value());
  EXPECT_THAT(index.RevisionOf("b"), Optional(5));
}

TEST(RecordIndexTest, ReplacingARecordMovesItsPostings) {
  RecordIndex index;
  CooperationRecord first = Record("r", 1, "AT");
  first.add_thematic_areas(cooperation::v1::THEMATIC_AREA_PREVENTION);
  first.add_tags("low-trust");
  auto* partner = first.add_partners();
  partner->set_kind(cooperation::v1::PARTNER_KIND_CSO);
  ASSERT_TRUE(index.Upsert(first));
  EXPECT_EQ(PostingCount(index, Field::kThematicArea,
                         cooperation::v1::THEMATIC_AREA_PREVENTION),
            1);
  EXPECT_EQ(PostingCount(index, Field::kAnonymousPartner,
                         cooperation::v1::PARTNER_KIND_CSO),
            1);

  CooperationRecord second = Record("r", 2, "gr");
  second.add_thematic_areas(cooperation::v1::THEMATIC_AREA_DIGITAL);
  second.add_partners()->set_id("IOM");
  ASSERT_TRUE(index.Upsert(second));
  EXPECT_EQ(PostingCount(index, Field::kThematicArea,
                         cooperation::v1::THEMATIC_AREA_PREVENTION),
            0);
  EXPECT_EQ(PostingCount(index, Field::kThematicArea,
                         cooperation::v1::THEMATIC_AREA_DIGITAL),
            1);
  EXPECT_EQ(PostingCount(index, Field::kTag,
                         *index.FindValue(Field::kTag, "low-trust")),
            0);
  EXPECT_EQ(PostingCount(index, Field::kAnonymousPartner,
                         cooperation::v1::PARTNER_KIND_CSO),
            0);
  EXPECT_EQ(PostingCount(index, Field::kPartnerId,
                         *index.FindValue(Field::kPartnerId, "IOM")),
            1);
  // The reporting country is stored canonical.
  const RecordIndex::Slot slot = *index.FindSlot("r");
  EXPECT_EQ(index.country_code(index.country(slot)), "EL");
  EXPECT_EQ(
      PostingCount(index, Field::kReportingCountry, *index.FindCountry("AT")),
      0);
  EXPECT_EQ(
      PostingCount(index, Field::kReportingCountry, *index.FindCountry("EL")),
      1);
}

TEST(RecordIndexTest, FreedSlotsAreReused) {
  RecordIndex index;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(index.Upsert(Record(absl::StrCat("r", i), 1)));
  }
  for (int i = 0; i < 100; i += 2) {
    ASSERT_TRUE(index.Remove(absl::StrCat("r", i), 2));
  }
  EXPECT_EQ(index.size(), 50u);
  for (int i = 100; i < 150; ++i) {
    ASSERT_TRUE(index.Upsert(Record(absl::StrCat("r", i), 3)));
  }
  EXPECT_EQ(index.size(), 100u);
  EXPECT_EQ(index.slot_count(), 100u);
  for (int i = 1; i < 150; i += 2) {
    if (i < 100 && i % 2 == 0) continue;
    EXPECT_TRUE(index.FindSlot(absl::StrCat("r", i)).has_value()) << i;
  }
  int live = 0;
  for (RecordIndex::Word word : index.live())
    live += __builtin_popcountll(word);
  EXPECT_EQ(live, 100);
}

TEST(RecordIndexTest, InternsSourcesAndReleasesThem) {
  RecordIndex index;
  for (int i = 0; i < 1000; ++i) {
    CooperationRecord record = Record(absl::StrCat("r", i), 1);
    record.mutable_sources(0)->set_footnote(i % 3);
    ASSERT_TRUE(index.Upsert(record));
  }
  EXPECT_EQ(index.source_count(), 3u);
  const RecordIndex::Slot slot = *index.FindSlot("r4");
  google::protobuf::RepeatedPtrField<registry::v1::Source> sources;
  index.AppendSources(slot, &sources);
  ASSERT_EQ(sources.size(), 1);
  EXPECT_EQ(sources[0].citation(), "EMN study");
  EXPECT_EQ(sources[0].footnote(), 1);
  for (int i = 0; i < 1000; i += 3) {
    ASSERT_TRUE(index.Remove(absl::StrCat("r", i), 2));
  }
  EXPECT_EQ(index.source_count(), 2u);
  ASSERT_TRUE(index.Upsert(Record("new", 1)));
  EXPECT_EQ(index.source_count(), 3u);
}

TEST(RecordIndexTest, CountsPerCountryFollowUpdatesAndRemovals) {
  constexpr auto kMeasure = cooperation::v1::RECORD_KIND_MEASURE;
  constexpr auto kGood = cooperation::v1::RECORD_KIND_GOOD_PRACTICE;
  RecordIndex index;
  auto counts = [&index](Field field, uint32_t value, const char* code) {
    const auto country = index.FindCountry(code);
    if (!country.has_value()) return 0u;
    const auto& per_country = index.value_country_records(field, value);
    return *country < per_country.size() ? per_country[*country] : 0u;
  };
  ASSERT_TRUE(index.Upsert(Record("a", 1, "AT")));
  ASSERT_TRUE(index.Upsert(Record("b", 1, "AT")));
  ASSERT_TRUE(index.Upsert(Record("c", 1, "BE")));
  EXPECT_EQ(counts(Field::kKind, kMeasure, "AT"), 2u);
  EXPECT_EQ(counts(Field::kKind, kMeasure, "BE"), 1u);

  // An update that moves a record to another country and kind moves its
  // counts with it.
  CooperationRecord moved = Record("a", 2, "BE");
  moved.set_kind(kGood);
  ASSERT_TRUE(index.Upsert(moved));
  EXPECT_EQ(counts(Field::kKind, kMeasure, "AT"), 1u);
  EXPECT_EQ(counts(Field::kKind, kGood, "AT"), 0u);
  EXPECT_EQ(counts(Field::kKind, kGood, "BE"), 1u);
  EXPECT_EQ(counts(Field::kReportingCountry, *index.FindCountry("BE"), "BE"),
            2u);

  // A removal takes its record's counts away; the freed slot, reused by a
  // record of another country, counts under that one.
  ASSERT_TRUE(index.Remove("b", 2));
  EXPECT_EQ(counts(Field::kKind, kMeasure, "AT"), 0u);
  ASSERT_TRUE(index.Upsert(Record("d", 1, "GR")));
  EXPECT_EQ(counts(Field::kKind, kMeasure, "EL"), 1u);
  EXPECT_EQ(counts(Field::kKind, kMeasure, "AT"), 0u);
  ExpectCountsPerCountryMatchPostings(index);
}

TEST(RecordIndexTest, CountriesStayOrderedByCode) {
  RecordIndex index;
  EXPECT_TRUE(index.countries_by_code().empty());
  int i = 0;
  for (const char* code : {"SE", "AT", "GR", "RS", "BE", "AT"}) {
    ASSERT_TRUE(index.Upsert(Record(absl::StrCat("r", i++), 1, code)));
  }
  EXPECT_THAT(CodesByCode(index),
              ::testing::ElementsAre("AT", "BE", "EL", "RS", "SE"));
  // A country whose records are all gone keeps its place: ids are never
  // reused but by Clear.
  ASSERT_TRUE(index.Remove("r0", 100));
  EXPECT_EQ(CodesByCode(index).size(), 5u);
  index.Clear();
  EXPECT_TRUE(index.countries_by_code().empty());
  ASSERT_TRUE(index.Upsert(Record("x", 1, "NO")));
  EXPECT_THAT(CodesByCode(index), ::testing::ElementsAre("NO"));
}

TEST(RecordIndexTest, ClearEmptiesEverything) {
  RecordIndex index;
  ASSERT_TRUE(index.Upsert(Record("a", 1)));
  index.Remove("b", 2);
  index.Clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.tombstones(), 0u);
  EXPECT_EQ(index.slot_count(), 0u);
  EXPECT_TRUE(index.Upsert(Record("a", 1)));
  EXPECT_TRUE(index.Upsert(Record("b", 1)));
}

// A store's change log replayed the way list+watch does it, twice: the
// second pass (a watch that resumes from an earlier revision) must change
// nothing.
TEST(RecordIndexTest, ReplayedChangeLogLeavesTheLatestState) {
  struct Change {
    bool deleted;
    CooperationRecord record;
  };
  std::mt19937_64 random(7);
  bench::SyntheticRecords synthetic(3);
  std::vector<Change> log;
  std::map<std::string, CooperationRecord> latest;
  int64_t revision = 0;
  for (int step = 0; step < 3000; ++step) {
    const std::string id = absl::StrCat(
        "syn-", std::uniform_int_distribution<int>(0, 400)(random));
    if (latest.count(id) > 0 &&
        std::uniform_int_distribution<int>(0, 3)(random) == 0) {
      CooperationRecord gone;
      gone.set_id(id);
      gone.set_revision(++revision);
      log.push_back({true, gone});
      latest.erase(id);
      continue;
    }
    CooperationRecord record = synthetic.Make(step);
    record.set_id(id);
    record.set_revision(++revision);
    log.push_back({false, record});
    latest[id] = record;
  }

  RecordIndex index;
  for (int pass = 0; pass < 2; ++pass) {
    for (const Change& change : log) {
      if (change.deleted) {
        index.Remove(change.record.id(), change.record.revision());
      } else {
        index.Upsert(change.record);
      }
    }
    ASSERT_EQ(index.size(), latest.size());
    for (const auto& [id, record] : latest) {
      auto slot = index.FindSlot(id);
      ASSERT_TRUE(slot.has_value()) << id;
      EXPECT_EQ(index.revision(*slot), record.revision());
      EXPECT_EQ(index.title(*slot), record.title());
      EXPECT_EQ(index.country_code(index.country(*slot)),
                record.reporting_country());
      EXPECT_EQ(index.start_year(*slot), record.start_year());
      EXPECT_EQ(index.end_year(*slot), record.end_year());
    }
  }
  // Postings hold exactly the live records' values.
  std::map<int, int> by_kind;
  for (const auto& [id, record] : latest) ++by_kind[record.kind()];
  for (const auto& [kind, count] : by_kind) {
    EXPECT_EQ(PostingCount(index, Field::kKind, kind), count) << kind;
  }
  ExpectCountsPerCountryMatchPostings(index);
  EXPECT_GT(index.MemoryBytes(), 0u);
}

}  // namespace
}  // namespace thb::aggregator
