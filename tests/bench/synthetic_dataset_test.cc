#include <cstdio>
#include <set>
#include <string>

#include "bench/synthetic.h"
#include "domain/dataset.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/cooperation/record_validation.h"
#include "tests/aggregator/reference_registry.h"

namespace thb::bench {
namespace {

namespace v1 = ::thb::cooperation::v1;
using ::google::protobuf::util::MessageDifferencer;

constexpr int kRecords = 2000;

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/" + name;
}

TEST(SyntheticDatasetTest, SameSeedSameRecordsOtherSeedOthers) {
  const v1::Dataset a = SyntheticDataset(50, 7);
  const v1::Dataset b = SyntheticDataset(50, 7);
  const v1::Dataset c = SyntheticDataset(50, 8);
  EXPECT_TRUE(MessageDifferencer::Equals(a, b));
  EXPECT_FALSE(MessageDifferencer::Equals(a, c));
  EXPECT_EQ(a.records(0).id(), "syn-0");
  EXPECT_EQ(a.records(49).id(), "syn-49");
}

TEST(SyntheticDatasetTest, TextAndJsonFilesReadBackUnchanged) {
  const v1::Dataset dataset = SyntheticDataset(200, 1);
  for (const std::string name : {"synthetic.txtpb", "synthetic.json"}) {
    const std::string path = TempPath(name);
    ASSERT_TRUE(domain::SaveDataset(dataset, path).ok()) << path;
    auto loaded = domain::LoadDataset(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE(MessageDifferencer::Equals(dataset, *loaded)) << name;
    std::remove(path.c_str());
  }
}

TEST(SyntheticDatasetTest, EveryRecordPassesTheCooperationServiceChecks) {
  auto registry = aggregator::testing::ReferenceSnapshot();
  ASSERT_NE(registry, nullptr);
  v1::Dataset dataset = SyntheticDataset(kRecords, 1);
  ASSERT_TRUE(domain::ValidateDataset(dataset).ok());
  for (int i = 0; i < dataset.records_size(); ++i) {
    auto status = cooperation::ValidateRecord(*dataset.mutable_records(i),
                                              *registry, "record");
    ASSERT_TRUE(status.ok()) << i << ": " << status;
  }
}

TEST(SyntheticDatasetTest, SpreadsOverEveryFacet) {
  const v1::Dataset dataset = SyntheticDataset(kRecords, 1);
  std::set<std::string> countries, partners, regions;
  std::set<int> kinds, areas, forms, years;
  for (const auto& record : dataset.records()) {
    countries.insert(record.reporting_country());
    kinds.insert(record.kind());
    forms.insert(record.form());
    years.insert(record.start_year());
    for (int area : record.thematic_areas()) areas.insert(area);
    for (const auto& partner : record.partners()) {
      partners.insert(partner.id());
    }
    for (const auto& region : record.target_regions()) regions.insert(region);
  }
  EXPECT_EQ(countries.size(), SyntheticReportingCountries().size());
  EXPECT_EQ(kinds.size(), 5u);
  EXPECT_EQ(areas.size(), 12u);
  EXPECT_EQ(forms.size(), 9u);
  EXPECT_EQ(years.size(), 10u);
  EXPECT_GE(partners.size(), 13u);
  EXPECT_EQ(regions.size(), 5u);
}

}  // namespace
}  // namespace thb::bench
