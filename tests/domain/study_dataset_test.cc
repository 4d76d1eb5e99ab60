#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/dates.h"
#include "domain/dataset.h"
#include "domain/emn_status.h"
#include "domain/footnote.h"
#include "domain/quality.h"
#include "domain/record_filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/reference_data.h"

namespace thb::domain {
namespace {

using cooperation::v1::CooperationRecord;
using cooperation::v1::Dataset;
using cooperation::v1::Statement;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class StudyDatasetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dataset = LoadDataset(THB_STUDY_DATASET);
    ASSERT_TRUE(dataset.ok()) << dataset.status();
    dataset_ = new Dataset(*std::move(dataset));
    auto reference =
        registry::LoadReferenceData(registry::kDefaultIsoCodesPath);
    ASSERT_TRUE(reference.ok()) << reference.status();
    auto day = ParseDate(dataset_->as_of_date(), "as_of_date");
    ASSERT_TRUE(day.ok()) << day.status();
    statuses_ = new std::map<std::string, registry::v1::EmnStatus>();
    for (const auto& country : reference->countries) {
      (*statuses_)[country.code()] = StatusOn(country, *day);
    }
  }

  static void TearDownTestSuite() {
    delete dataset_;
    delete statuses_;
    dataset_ = nullptr;
    statuses_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(dataset_, nullptr);
    ASSERT_NE(statuses_, nullptr);
  }

  static registry::v1::EmnStatus StatusOfCode(const std::string& code) {
    auto it = statuses_->find(code);
    return it == statuses_->end() ? registry::v1::EMN_STATUS_NONE : it->second;
  }

  static std::vector<CooperationRecord> Records() {
    return {dataset_->records().begin(), dataset_->records().end()};
  }

  static const Statement* StatementOf(int footnote) {
    for (const auto& statement : dataset_->statements()) {
      if (statement.footnote() == footnote) return &statement;
    }
    return nullptr;
  }

  static Dataset* dataset_;
  static std::map<std::string, registry::v1::EmnStatus>* statuses_;
};

Dataset* StudyDatasetTest::dataset_ = nullptr;
std::map<std::string, registry::v1::EmnStatus>* StudyDatasetTest::statuses_ =
    nullptr;

TEST_F(StudyDatasetTest, RecordsHaveUniqueIdsAndFootnotedSources) {
  ASSERT_FALSE(dataset_->records().empty());
  std::set<std::string> ids;
  for (const auto& record : dataset_->records()) {
    EXPECT_TRUE(ids.insert(record.id()).second) << "duplicate " << record.id();
    ASSERT_FALSE(record.sources().empty()) << record.id();
    const auto& source = record.sources(0);
    EXPECT_GT(source.footnote(), 0) << record.id();
    EXPECT_FALSE(source.citation().empty()) << record.id();
    EXPECT_EQ(
        record.id(),
        absl::StrFormat("fn%02d-%s", source.footnote(),
                        absl::AsciiStrToLower(record.reporting_country())))
        << "the id names the footnote and the country";
    EXPECT_FALSE(record.title().empty()) << record.id();
    EXPECT_FALSE(record.description().empty()) << record.id();
    EXPECT_NE(record.status(), cooperation::v1::RECORD_STATUS_UNSPECIFIED)
        << record.id();
  }
}

TEST_F(StudyDatasetTest, EachFootnoteHasOneRecordPerPrintedCountry) {
  std::map<int, std::set<std::string>> countries_by_footnote;
  for (const auto& record : dataset_->records()) {
    countries_by_footnote[record.sources(0).footnote()].insert(
        record.reporting_country());
  }
  for (const auto& statement : dataset_->statements()) {
    if (statement.footnote() == 0) continue;
    const auto& countries = countries_by_footnote[statement.footnote()];
    std::vector<std::string> members;
    std::vector<std::string> observers;
    for (const auto& code : countries) {
      (StatusOfCode(code) == registry::v1::EMN_STATUS_MEMBER ? members
                                                             : observers)
          .push_back(code);
    }
    EXPECT_EQ(Footnote(members, observers), statement.countries())
        << "fn " << statement.footnote();
  }
}

TEST_F(StudyDatasetTest, EachRecordMatchesItsOwnStatement) {
  for (const auto& record : dataset_->records()) {
    const Statement* statement = StatementOf(record.sources(0).footnote());
    ASSERT_NE(statement, nullptr) << record.id();
    EXPECT_TRUE(Matches(record, statement->filter(),
                        StatusOfCode(record.reporting_country())))
        << record.id();
  }
}

TEST_F(StudyDatasetTest, EveryFigureComesBackAsPublished) {
  // The contributing countries, footnotes 7 and 10 to 31.
  ASSERT_EQ(dataset_->statements_size(), 24);
  for (const auto& statement : dataset_->statements()) {
    std::vector<std::string> members;
    std::vector<std::string> observers;
    std::set<std::string> seen;
    for (const auto& record : dataset_->records()) {
      const std::string& code = record.reporting_country();
      if (!Matches(record, statement.filter(), StatusOfCode(code)) ||
          !seen.insert(code).second) {
        continue;
      }
      ASSERT_NE(StatusOfCode(code), registry::v1::EMN_STATUS_NONE) << code;
      (StatusOfCode(code) == registry::v1::EMN_STATUS_MEMBER ? members
                                                             : observers)
          .push_back(code);
    }
    EXPECT_EQ(static_cast<int>(seen.size()), statement.count())
        << "fn " << statement.footnote();
    if (!statement.countries().empty()) {
      EXPECT_EQ(Footnote(members, observers), statement.countries())
          << "fn " << statement.footnote();
    }
  }
}

TEST_F(StudyDatasetTest, TheContributingCountriesAreTheStudys25) {
  std::set<std::string> countries;
  for (const auto& record : dataset_->records()) {
    countries.insert(record.reporting_country());
  }
  EXPECT_EQ(countries, (std::set<std::string>{
                           "AT", "BE", "BG", "CY", "CZ", "DE", "EE", "EL", "ES",
                           "FI", "FR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
                           "NL", "PL", "SE", "SI", "SK", "GE", "RS"}));
  const Statement* contributed = StatementOf(0);
  ASSERT_NE(contributed, nullptr);
  EXPECT_EQ(contributed->count(), 25);
}

TEST_F(StudyDatasetTest, QualityCheckReportsOnlyTheSourcesQuirks) {
  const std::vector<Finding> findings =
      CheckDataset(*dataset_, Records(), &StudyDatasetTest::StatusOfCode);
  for (const auto& finding : findings) {
    EXPECT_EQ(finding.severity, Severity::kWarning) << FormatFinding(finding);
  }
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].footnote, 11);
  EXPECT_THAT(findings[0].countries, ElementsAre("CY"));
  EXPECT_EQ(findings[0].message,
            "fn 11: CY is not in fn 10, which the source presents as "
            "including fn 11's countries");
  EXPECT_EQ(findings[1].footnote, 16);
  EXPECT_THAT(findings[1].countries, ElementsAre("FR", "GE"));
  EXPECT_EQ(findings[1].message,
            "fn 16: FR, GE are also in fn 15, which the source contrasts with "
            "fn 16");
}

TEST_F(StudyDatasetTest, QualityCheckReportsAMissingRecord) {
  std::vector<CooperationRecord> records;
  for (const auto& record : dataset_->records()) {
    if (record.id() != "fn07-be") records.push_back(record);
  }
  ASSERT_EQ(records.size(), static_cast<size_t>(dataset_->records_size() - 1));
  std::vector<std::string> errors;
  for (const auto& finding :
       CheckDataset(*dataset_, records, &StudyDatasetTest::StatusOfCode)) {
    if (finding.severity == Severity::kError) {
      EXPECT_EQ(finding.footnote, 7);
      errors.push_back(finding.message);
    }
  }
  EXPECT_THAT(errors,
              ElementsAre("fn 7: the records give 10 countries, the source "
                          "says 11",
                          "fn 7: the records give \"DE, EE, ES, FI, FR, IT, "
                          "LV, NL, SI, and GE.\", the source prints \"BE, DE, "
                          "EE, ES, FI, FR, IT, LV, NL, SI, and GE.\""));
}

TEST_F(StudyDatasetTest, QualityCheckReportsARecordTaggedBeyondItsStatement) {
  // The inference the dataset must not make: CY's awareness raising counted
  // as prevention turns 13 into 14.
  std::vector<CooperationRecord> records = Records();
  for (auto& record : records) {
    if (record.id() == "fn11-cy") {
      record.add_thematic_areas(cooperation::v1::THEMATIC_AREA_PREVENTION);
    }
  }
  std::vector<std::string> errors;
  for (const auto& finding :
       CheckDataset(*dataset_, records, &StudyDatasetTest::StatusOfCode)) {
    if (finding.severity == Severity::kError) errors.push_back(finding.message);
  }
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0],
            "fn 10: the records give 14 countries, the source says 13");
}

TEST_F(StudyDatasetTest, DateAwareCheckJudgesStatusesOnTheDatasetDate) {
  auto reference = registry::LoadReferenceData(registry::kDefaultIsoCodesPath);
  ASSERT_TRUE(reference.ok()) << reference.status();
  std::map<std::string, registry::v1::Country> countries;
  for (const auto& country : reference->countries) {
    countries[country.code()] = country;
  }
  std::vector<absl::CivilDay> days;
  const StatusOnDay status_on = [&](const std::string& code,
                                    absl::CivilDay day) {
    days.push_back(day);
    auto it = countries.find(code);
    return it == countries.end() ? registry::v1::EMN_STATUS_NONE
                                 : StatusOn(it->second, day);
  };
  const auto findings = CheckDataset(*dataset_, Records(), status_on);
  EXPECT_EQ(findings.size(), 2u);
  ASSERT_FALSE(days.empty());
  for (const auto& day : days) EXPECT_EQ(day, absl::CivilDay(2025, 7, 16));

  // Before RS became an Observer (2023-03-16) it was a third country: the
  // figures of the study's date do not hold then.
  Dataset earlier = *dataset_;
  earlier.set_as_of_date("2022-12-31");
  bool reported_rs = false;
  for (const auto& finding : CheckDataset(earlier, Records(), status_on)) {
    if (finding.severity == Severity::kError &&
        finding.countries == std::vector<std::string>{"RS"}) {
      reported_rs = true;
    }
  }
  EXPECT_TRUE(reported_rs);
}

}  // namespace
}  // namespace thb::domain
