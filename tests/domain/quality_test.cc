#include "domain/quality.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace thb::domain {
namespace {

using cooperation::v1::CooperationRecord;
using cooperation::v1::Dataset;
using registry::v1::EmnStatus;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

Dataset ParseDataset(const std::string& text) {
  Dataset dataset;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &dataset));
  return dataset;
}

std::vector<CooperationRecord> RecordsOf(const Dataset& dataset) {
  return {dataset.records().begin(), dataset.records().end()};
}

EmnStatus Status(const std::string& code) {
  if (code == "GE" || code == "RS") return registry::v1::EMN_STATUS_OBSERVER;
  if (code == "TN") return registry::v1::EMN_STATUS_NONE;
  return registry::v1::EMN_STATUS_MEMBER;
}

std::vector<std::string> Messages(const std::vector<Finding>& findings) {
  std::vector<std::string> messages;
  for (const auto& finding : findings) {
    messages.push_back(FormatFinding(finding));
  }
  return messages;
}

// Two prevention good practices (AT, GE), one awareness raising (AT, FR)
// within them, one ad hoc cooperation (FR) contrasted with awareness.
constexpr char kDataset[] = R"pb(
  as_of_date: "2025-07-16"
  statements {
    footnote: 1
    filter {
      kinds: RECORD_KIND_GOOD_PRACTICE
      thematic_areas: THEMATIC_AREA_PREVENTION
    }
    count: 2
    countries: "AT, and GE."
  }
  statements {
    footnote: 2
    filter { thematic_areas: THEMATIC_AREA_AWARENESS_RAISING }
    count: 2
    countries: "AT, FR."
    within: 1
  }
  statements {
    footnote: 3
    filter { forms: COOPERATION_FORM_OPERATIONAL_AD_HOC }
    count: 1
    contrasted_with: 2
  }
  records {
    id: "fn01-at"
    reporting_country: "AT"
    kind: RECORD_KIND_GOOD_PRACTICE
    thematic_areas: THEMATIC_AREA_PREVENTION
  }
  records {
    id: "fn01-ge"
    reporting_country: "GE"
    kind: RECORD_KIND_GOOD_PRACTICE
    thematic_areas: THEMATIC_AREA_PREVENTION
  }
  records {
    id: "fn02-at"
    reporting_country: "AT"
    thematic_areas: THEMATIC_AREA_AWARENESS_RAISING
  }
  records {
    id: "fn02-fr"
    reporting_country: "FR"
    thematic_areas: THEMATIC_AREA_AWARENESS_RAISING
  }
  records {
    id: "fn03-fr"
    reporting_country: "FR"
    form: COOPERATION_FORM_OPERATIONAL_AD_HOC
  }
)pb";

TEST(CheckDatasetTest, ReportsQuirksAsWarnings) {
  const Dataset dataset = ParseDataset(kDataset);
  const auto findings = CheckDataset(dataset, RecordsOf(dataset), Status);
  EXPECT_THAT(
      Messages(findings),
      ElementsAre("WARNING fn 2: FR is not in fn 1, which the source presents "
                  "as including fn 2's countries",
                  "WARNING fn 3: FR is also in fn 2, which the source "
                  "contrasts with fn 3"));
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].footnote, 2);
  EXPECT_EQ(findings[0].severity, Severity::kWarning);
  EXPECT_THAT(findings[0].countries, ElementsAre("FR"));
  EXPECT_EQ(findings[1].footnote, 3);
  EXPECT_THAT(findings[1].countries, ElementsAre("FR"));
}

TEST(CheckDatasetTest, ReportsAWrongCountAndFootnoteAsErrors) {
  Dataset dataset = ParseDataset(kDataset);
  dataset.mutable_statements(0)->set_count(3);
  dataset.mutable_statements(0)->set_countries("AT, GE.");
  const auto findings = CheckDataset(dataset, RecordsOf(dataset), Status);
  ASSERT_GE(findings.size(), 2u);
  EXPECT_EQ(findings[0].severity, Severity::kError);
  EXPECT_EQ(findings[0].footnote, 1);
  EXPECT_EQ(findings[0].message,
            "fn 1: the records give 2 countries, the source says 3");
  EXPECT_EQ(findings[1].severity, Severity::kError);
  EXPECT_EQ(findings[1].message,
            "fn 1: the records give \"AT, and GE.\", the source prints \"AT, "
            "GE.\"");
}

TEST(CheckDatasetTest, AnEmptyListChecksTheCountOnly) {
  Dataset dataset = ParseDataset(kDataset);
  auto* contributed = dataset.add_statements();
  contributed->set_count(3);
  auto findings = CheckDataset(dataset, RecordsOf(dataset), Status);
  EXPECT_EQ(findings.size(), 2u) << "only the two quirks";

  contributed->set_count(4);
  findings = CheckDataset(dataset, RecordsOf(dataset), Status);
  ASSERT_EQ(findings.size(), 3u);
  EXPECT_EQ(findings[2].footnote, 0);
  EXPECT_EQ(findings[2].message,
            "statement 4 (no footnote): the records give 3 countries, the "
            "source says 4");
}

TEST(CheckDatasetTest, ChecksTheRecordsItIsGivenNotTheDatasets) {
  const Dataset dataset = ParseDataset(kDataset);
  std::vector<CooperationRecord> records = RecordsOf(dataset);
  records.erase(records.begin() + 1);  // fn01-ge
  const auto messages = Messages(CheckDataset(dataset, records, Status));
  EXPECT_THAT(messages,
              ElementsAre("ERROR fn 1: the records give 1 country, the "
                          "source says 2",
                          "ERROR fn 1: the records give \"AT.\", the source "
                          "prints \"AT, and GE.\"",
                          "WARNING fn 2: FR is not in fn 1, which the source "
                          "presents as including fn 2's countries",
                          "WARNING fn 3: FR is also in fn 2, which the source "
                          "contrasts with fn 3"));
}

TEST(CheckDatasetTest, ReportsAReportingThirdCountry) {
  Dataset dataset = ParseDataset(kDataset);
  auto* record = dataset.add_records();
  record->set_id("fn03-tn");
  record->set_reporting_country("TN");
  record->set_form(cooperation::v1::COOPERATION_FORM_OPERATIONAL_AD_HOC);
  dataset.mutable_statements(2)->set_count(2);
  const auto findings = CheckDataset(dataset, RecordsOf(dataset), Status);
  ASSERT_EQ(findings.size(), 3u);
  EXPECT_EQ(findings[2].severity, Severity::kWarning);
  EXPECT_EQ(findings[1].severity, Severity::kError);
  EXPECT_EQ(findings[1].message,
            "fn 3: TN is neither an EMN Member nor an Observer on 2025-07-16");
  EXPECT_THAT(findings[1].countries, ElementsAre("TN"));
}

TEST(CheckDatasetTest, ReportsARelationToAMissingFootnote) {
  Dataset dataset = ParseDataset(kDataset);
  dataset.mutable_statements(0)->add_within(9);
  dataset.mutable_statements(0)->add_contrasted_with(1);
  const auto findings = CheckDataset(dataset, RecordsOf(dataset), Status);
  ASSERT_GE(findings.size(), 2u);
  EXPECT_EQ(FormatFinding(findings[0]),
            "ERROR fn 1: within names fn 9, which no other statement has");
  EXPECT_EQ(FormatFinding(findings[1]),
            "ERROR fn 1: contrasted_with names fn 1, which no other statement "
            "has");
}

TEST(CheckDatasetTest, JudgesStatusesOnTheStatementsDate) {
  Dataset dataset = ParseDataset(kDataset);
  dataset.mutable_statements(0)->set_as_of_date("2021-01-01");
  std::vector<std::string> asked;
  const StatusOnDay status_on = [&](const std::string& code,
                                    absl::CivilDay day) {
    asked.push_back(code + "@" + std::to_string(day.year()));
    // GE became an Observer in March 2021.
    if (code == "GE" && day < absl::CivilDay(2021, 3, 1)) {
      return registry::v1::EMN_STATUS_NONE;
    }
    return Status(code);
  };
  const auto findings = CheckDataset(dataset, RecordsOf(dataset), status_on);
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings[0].message,
            "fn 1: GE is neither an EMN Member nor an Observer on 2021-01-01");
  EXPECT_THAT(asked, ::testing::Contains("GE@2021"));
  EXPECT_THAT(asked, ::testing::Contains("GE@2025"));
}

TEST(CheckDatasetTest, ReportsADateThatDoesNotParse) {
  Dataset dataset = ParseDataset(kDataset);
  dataset.mutable_statements(1)->set_as_of_date("16 July 2025");
  const auto findings = CheckDataset(dataset, RecordsOf(dataset), Status);
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings[0].severity, Severity::kError);
  EXPECT_EQ(findings[0].footnote, 2);
  EXPECT_THAT(findings[0].message,
              ::testing::StartsWith("fn 2: cannot judge EMN statuses: "));
}

TEST(CheckDatasetTest, NoStatementsNoFindings) {
  EXPECT_THAT(CheckDataset(Dataset(), {}, Status), IsEmpty());
}

}  // namespace
}  // namespace thb::domain
