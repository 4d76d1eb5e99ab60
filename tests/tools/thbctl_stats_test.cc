// thbctl stats as a user runs it: a subprocess against real thb-registry,
// thb-cooperation and thb-aggregator processes (no cache) with the study
// imported; the study's figures come back, and a missing record shows.

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"
#include "tests/tools/thbctl_runner.h"
#include "thb/stats/v1/stats_service.pb.h"

namespace thb {
namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::thb::testing::Outcome;
using ::thb::testing::RunThbctl;
using ::thb::testing::ServerProcess;

std::string StudyDirectory() {
  const std::string path = THB_STUDY_DATASET;
  const std::string data = path.substr(0, path.rfind('/'));
  return data.substr(0, data.rfind('/'));
}

// Registry, cooperation and one aggregator, the study imported.
class StatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("thbctl-stats");
    registry_ =
        std::make_unique<ServerProcess>(THB_REGISTRY_BIN, dir_, "registry");
    ASSERT_TRUE(registry_->Start().ok());
    cooperation_ = std::make_unique<ServerProcess>(
        THB_COOPERATION_BIN, dir_, "cooperation",
        std::vector<std::string>{
            absl::StrCat("--registry=", registry_->address())});
    ASSERT_TRUE(cooperation_->Start().ok());
    aggregator_ = std::make_unique<ServerProcess>(
        THB_AGGREGATOR_BIN, dir_, "aggregator",
        std::vector<std::string>{
            absl::StrCat("--registry=", registry_->address()),
            absl::StrCat("--cooperation=", cooperation_->address()),
            "--redis="},
        /*with_db=*/false);
    ASSERT_TRUE(aggregator_->Start().ok());
    const Outcome imported = Run({"import", THB_STUDY_DATASET});
    ASSERT_EQ(imported.exit_code, 0) << imported;
    // The aggregator follows the import by watch; once it has the import's
    // revision, every later answer has it too.
    const Outcome synced = Run({"stats", "count", "--min_revision=1"});
    ASSERT_EQ(synced.exit_code, 0) << synced;
  }

  void TearDown() override {
    aggregator_.reset();
    cooperation_.reset();
    registry_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // thbctl with the services' addresses in front of `args`, in `cwd`.
  Outcome Run(std::vector<std::string> args, const std::string& cwd = "") {
    args.insert(args.begin(),
                {absl::StrCat("--registry=", registry_->address()),
                 absl::StrCat("--cooperation=", cooperation_->address()),
                 absl::StrCat("--aggregator=", aggregator_->address())});
    return RunThbctl(args, {}, cwd);
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> registry_;
  std::unique_ptr<ServerProcess> cooperation_;
  std::unique_ptr<ServerProcess> aggregator_;
};

TEST_F(StatsTest, FiguresReproduceTheStudyAndShowAMissingRecord) {
  // The default dataset is data/study.txtpb under the current directory.
  const Outcome figures =
      Run({"stats", "figures", "--check"}, StudyDirectory());
  ASSERT_EQ(figures.exit_code, 0) << figures;
  EXPECT_THAT(
      figures.out,
      AllOf(ContainsRegex("FN +STATEMENT +COUNT +CHECK +COUNTRIES\n"),
            ContainsRegex(
                "\n— +Based on contributions from 25 EMN Member and\\.\\.\\. +"
                "25 +✓ +AT, "),
            ContainsRegex("\n15 +.* +11 +✓ +"
                          "AT, BG, DE, EL, FR, HU, LT, NL, PL, and GE, RS.\n"),
            ContainsRegex(
                "\n28 +Over half of these mentioned low trust levels\\.\\.\\. "
                "+5 +✓ +AT, FR, LV, PL, SI.\n"),
            HasSubstr("Share fn 11 of fn 10: 9 of 13, 69.2%\n"),
            HasSubstr("Share fn 28 of fn 27: 5 of 9, 55.6%\n"),
            HasSubstr("Share fn 30 of fn 29: 3 of 10, 30.0%\n"),
            HasSubstr("all 24 figures of data/study.txtpb match the "
                      "published ones\n"),
            ContainsRegex("as of 2025-07-16, registry revision [0-9]+, "
                          "cooperation revision 1, cache 24 bypass\n")));
  EXPECT_THAT(figures.out, Not(HasSubstr("✗")));
  EXPECT_THAT(figures.err, IsEmpty());

  // JSON: the full statements, the computed and the published figures.
  const Outcome json = Run({"stats", "figures", "--check", "--format=json",
                            "--dataset", THB_STUDY_DATASET});
  ASSERT_EQ(json.exit_code, 0) << json;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &parsed).ok())
      << json.out;
  const auto& rows = parsed.fields().at("figures").list_value().values();
  ASSERT_EQ(rows.size(), 24);
  const google::protobuf::Struct* found = nullptr;
  for (const auto& row : rows) {
    if (row.struct_value().fields().at("footnote").number_value() == 28) {
      found = &row.struct_value();
    }
  }
  ASSERT_NE(found, nullptr) << json.out;
  const auto& fn28 = found->fields();
  EXPECT_EQ(fn28.at("statement").string_value(),
            "Over half of these mentioned low trust levels and/or cultural "
            "differences with third countries as a challenge.");
  EXPECT_EQ(fn28.at("count").number_value(), 5);
  EXPECT_EQ(fn28.at("check").string_value(), "OK");
  const auto& shares = parsed.fields().at("shares").list_value().values();
  ASSERT_EQ(shares.size(), 3);
  EXPECT_EQ(shares[1].struct_value().fields().at("text").string_value(),
            "5 of 9, 55.6%");

  const Outcome csv =
      Run({"stats", "figures", "--format=csv", "--dataset", THB_STUDY_DATASET});
  ASSERT_EQ(csv.exit_code, 0) << csv;
  EXPECT_THAT(csv.out,
              AllOf(HasSubstr("footnote,statement,count,countries\r\n"),
                    HasSubstr("\r\n31,Some countries are evaluating agreements "
                              "with third countries to reinforce cooperation "
                              "with third countries of origins and transit of "
                              "victims.,3,\"FR, SI, and RS.\"\r\n")));

  // Without BE's record for footnote 7, that figure is off by one. The
  // aggregator follows by watch: --min_revision waits for the deletion.
  const Outcome deleted = Run({"records", "delete", "fn07-be"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted;
  std::smatch match;
  ASSERT_TRUE(
      std::regex_search(deleted.out, match, std::regex("at revision ([0-9]+)")))
      << deleted.out;
  const std::string revision = match[1];
  const Outcome broken =
      Run({"stats", "figures", "--check", "--dataset", THB_STUDY_DATASET,
           absl::StrCat("--min_revision=", revision)});
  EXPECT_EQ(broken.exit_code, 1) << broken;
  EXPECT_THAT(
      broken.out,
      AllOf(ContainsRegex(
                "\n7 +Cooperation with EU agencies has been highlig\\.\\.\\. +"
                "10 +✗ +DE, EE, ES, FI, FR, IT, LV, NL, SI, and "
                "GE.\n"),
            HasSubstr("DIFF fn 7: count 10, published 11\n"),
            HasSubstr("DIFF fn 7: countries \"DE, EE, ES, FI, FR, IT, LV, NL, "
                      "SI, and GE.\", published \"BE, DE, EE, ES, FI, FR, IT, "
                      "LV, NL, SI, and GE.\"; missing BE\n"),
            ContainsRegex(absl::StrCat("cooperation revision ", revision))));
  EXPECT_EQ(broken.err,
            absl::StrCat("thbctl: 1 of 24 figures of ", THB_STUDY_DATASET,
                         " differ from the published ones: fn 7\n"));
}

TEST_F(StatsTest, CountBreakdownCrosstabShareAndExplain) {
  // Footnote 10: thirteen countries with prevention good practices.
  const Outcome count = Run(
      {"stats", "count", "--kind", "GOOD_PRACTICE", "--area", "PREVENTION"});
  ASSERT_EQ(count.exit_code, 0) << count;
  EXPECT_THAT(
      count.out,
      AllOf(ContainsRegex("^count: +13\nmembers: +12\nobservers: +1\n"),
            ContainsRegex("\nfootnote: +BE, BG, DE, EE, ES, FI, FR, HR, LV, "
                          "NL, PL, SE, and GE.\n"),
            ContainsRegex("\ncountries: +BE,BG,DE,EE,ES,FI,FR,HR,LV,NL,PL,SE,"
                          "GE\n"),
            ContainsRegex("\nas of [0-9]{4}-[0-9]{2}-[0-9]{2}, registry "
                          "revision [0-9]+, cooperation revision 1, cache "
                          "bypass\n$")));

  const Outcome json =
      Run({"stats", "count", "--kind=GOOD_PRACTICE", "--area=PREVENTION",
           "--as_of=2025-07-16", "--min_revision=1", "--format=json"});
  ASSERT_EQ(json.exit_code, 0) << json;
  stats::v1::CountCountriesResponse response;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &response).ok())
      << json.out;
  EXPECT_EQ(response.count(), 13);
  EXPECT_EQ(response.as_of().as_of_date(), "2025-07-16");
  EXPECT_EQ(response.as_of().cooperation_revision(), 1);
  EXPECT_EQ(response.cache(), stats::v1::CACHE_STATUS_BYPASS);

  // A set expression: the awareness raising of footnote 11 that footnote 10
  // does not list.
  const Outcome difference = Run({"stats", "count", "--format=csv",
                                  R"(--query={"difference": {"queries": [
           {"filter": {"kinds": ["RECORD_KIND_GOOD_PRACTICE"],
                       "thematic_areas": ["THEMATIC_AREA_AWARENESS_RAISING"]}},
           {"filter": {"kinds": ["RECORD_KIND_GOOD_PRACTICE"],
                       "thematic_areas": ["THEMATIC_AREA_PREVENTION"]}}]}})"});
  ASSERT_EQ(difference.exit_code, 0) << difference;
  EXPECT_THAT(difference.out,
              ContainsRegex("^count,member_count,observer_count,footnote,"
                            "countries,as_of_date,registry_revision,"
                            "cooperation_revision,cache\r\n"
                            "1,1,0,CY.,CY,[-0-9]+,[0-9]+,1,bypass\r\n$"));

  // Footnotes 17-21: the targeted regions.
  const Outcome regions = Run({"stats", "breakdown", "--by=target_region"});
  ASSERT_EQ(regions.exit_code, 0) << regions;
  std::map<std::string, int> by_region;
  std::vector<std::string> lines =
      absl::StrSplit(regions.out, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 2u) << regions;
  EXPECT_THAT(lines.front(),
              ContainsRegex("^TARGET_REGION +COUNTRIES +FOOTNOTE$"));
  EXPECT_THAT(lines.back(), HasSubstr("cache bypass"));
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    std::smatch row;
    ASSERT_TRUE(
        std::regex_search(lines[i], row, std::regex("^([A-Z_]+) +([0-9]+) ")))
        << lines[i];
    by_region[row[1]] = std::stoi(row[2]);
  }
  EXPECT_EQ(by_region, (std::map<std::string, int>{{"SAHEL", 4},
                                                   {"HORN_OF_AFRICA", 6},
                                                   {"NORTH_AFRICA", 4},
                                                   {"EASTERN_EUROPE", 6},
                                                   {"WESTERN_BALKANS", 5}}));
  // Largest first, then by name; the short names of enums.
  EXPECT_THAT(regions.out,
              ContainsRegex("\nEASTERN_EUROPE +6 +.*\nHORN_OF_AFRICA +6 +"));
  const Outcome kinds = Run({"stats", "breakdown", "--by=DIMENSION_KIND",
                             "--measure=records", "--format=csv"});
  ASSERT_EQ(kinds.exit_code, 0) << kinds;
  EXPECT_THAT(kinds.out,
              AllOf(HasSubstr("kind,record_count,countries,footnote\r\n"),
                    ContainsRegex("\r\nAGREEMENT_EVALUATION,3,FR;SI;RS,"
                                  "\"FR, SI, and RS.\"\r\n")));

  const Outcome crosstab =
      Run({"stats", "crosstab", "--rows=kind", "--columns=region"});
  ASSERT_EQ(crosstab.exit_code, 0) << crosstab;
  EXPECT_THAT(crosstab.out,
              AllOf(ContainsRegex("^KIND \\\\ TARGET_REGION +EASTERN_EUROPE +"
                                  "HORN_OF_AFRICA +NORTH_AFRICA +SAHEL +"
                                  "WESTERN_BALKANS\n"),
                    ContainsRegex("\ncounts of countries; as of ")));

  // Footnote 28 of footnote 27: "over half".
  const Outcome share =
      Run({"stats", "share", "--part_footnote=28", "--whole_footnote=27"},
          StudyDirectory());
  ASSERT_EQ(share.exit_code, 0) << share;
  EXPECT_THAT(share.out,
              AllOf(ContainsRegex("^share: +5 of 9, 55.6%\n"),
                    ContainsRegex("\npart \\(fn 28\\): +5: AT, FR, LV, PL, "
                                  "SI.\n"),
                    ContainsRegex("\nas of 2025-07-16, ")));
  const Outcome share_json =
      Run({"stats", "share", "--format=json",
           R"(--part={"filter": {"target_regions": ["SAHEL"]}})",
           "--whole={\"filter\": {}}"});
  ASSERT_EQ(share_json.exit_code, 0) << share_json;
  stats::v1::ShareResponse share_response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(share_json.out,
                                                          &share_response)
                  .ok());
  EXPECT_EQ(share_response.text(), "4 of 25, 16.0%");

  // Footnote 31, with the records and sources behind each country.
  const Outcome explain =
      Run({"stats", "explain", "--kind=AGREEMENT_EVALUATION"});
  ASSERT_EQ(explain.exit_code, 0) << explain;
  EXPECT_THAT(
      explain.out,
      AllOf(ContainsRegex("^COUNTRY +STATUS +RECORD +KIND +SOURCES +TITLE\n"
                          "FR +MEMBER +fn31-fr +AGREEMENT_EVALUATION +"
                          "fn 31 \\[1\\] +.*\n"
                          "SI +MEMBER +fn31-si .*\n"
                          "RS +OBSERVER +fn31-rs .*\n"),
            HasSubstr("\nfootnote: FR, SI, and RS.\n[1] EMN (2025), "
                      "Trafficking in human beings")));
  const Outcome explain_csv =
      Run({"stats", "explain", "--kind=AGREEMENT_EVALUATION", "--format=csv"});
  ASSERT_EQ(explain_csv.exit_code, 0) << explain_csv;
  EXPECT_THAT(
      explain_csv.out,
      AllOf(HasSubstr("country,emn_status,record_id,kind,title,"
                      "source_footnotes,citations\r\n"),
            HasSubstr("\r\nRS,OBSERVER,fn31-rs,AGREEMENT_EVALUATION,")));

  // The aggregator's field violations name the path in the query.
  const Outcome unknown =
      Run({"stats", "count",
           R"(--query={"all_of": {"queries": [{"filter": {}},
           {"filter": {"target_regions": ["ATLANTIS"]}}]}})"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown;
  EXPECT_THAT(unknown.err,
              AllOf(HasSubstr("thbctl: INVALID_ARGUMENT: "),
                    HasSubstr("\n  field query.all_of.queries[1].filter."
                              "target_regions[0]: ")));
  EXPECT_THAT(unknown.out, IsEmpty());
}

TEST(StatsUsageTest, UsageErrorsExitTwoAndNameTheFlag) {
  const Outcome bad_dimension =
      RunThbctl({"stats", "breakdown", "--by=continent"});
  EXPECT_EQ(bad_dimension.exit_code, 2) << bad_dimension;
  EXPECT_THAT(bad_dimension.err,
              AllOf(HasSubstr("--by: \"continent\" is not a Dimension; "
                              "accepted: KIND, THEMATIC_AREA"),
                    HasSubstr("Run 'thbctl help'")));

  const Outcome no_dimension = RunThbctl({"stats", "breakdown"});
  EXPECT_EQ(no_dimension.exit_code, 2) << no_dimension;
  EXPECT_THAT(no_dimension.err, HasSubstr("--by: name a dimension"));

  const Outcome bad_columns =
      RunThbctl({"stats", "crosstab", "--rows=area", "--columns=nowhere"});
  EXPECT_EQ(bad_columns.exit_code, 2) << bad_columns;
  EXPECT_THAT(bad_columns.err, HasSubstr("--columns: \"nowhere\""));

  const Outcome bad_measure =
      RunThbctl({"stats", "breakdown", "--by=kind", "--measure=people"});
  EXPECT_EQ(bad_measure.exit_code, 2) << bad_measure;
  EXPECT_THAT(bad_measure.err, HasSubstr("--measure: \"people\""));

  const Outcome misplaced = RunThbctl({"stats", "count", "--by=kind"});
  EXPECT_EQ(misplaced.exit_code, 2) << misplaced;
  EXPECT_THAT(misplaced.err, HasSubstr("--by does not apply to stats count"));

  const Outcome bad_json = RunThbctl({"stats", "count", "--query={"});
  EXPECT_EQ(bad_json.exit_code, 2) << bad_json;
  EXPECT_THAT(bad_json.err,
              HasSubstr("--query: not a thb.stats.v1.CountryQuery in JSON"));

  const Outcome both =
      RunThbctl({"stats", "count", "--query={}", "--kind=MEASURE"});
  EXPECT_EQ(both.exit_code, 2) << both;
  EXPECT_THAT(both.err, HasSubstr("--query and the filter flags"));

  const Outcome bad_filter = RunThbctl({"stats", "explain", "--area=FUN"});
  EXPECT_EQ(bad_filter.exit_code, 2) << bad_filter;
  EXPECT_THAT(bad_filter.err, HasSubstr("--area: \"FUN\" is not a"));

  const Outcome no_statement =
      RunThbctl({"stats", "share", "--part_footnote=99", "--whole_footnote=27",
                 "--dataset", THB_STUDY_DATASET});
  EXPECT_EQ(no_statement.exit_code, 2) << no_statement;
  EXPECT_THAT(no_statement.err, HasSubstr("--part_footnote: no statement of "));

  const Outcome no_whole = RunThbctl({"stats", "share", "--part={}"});
  EXPECT_EQ(no_whole.exit_code, 2) << no_whole;
  EXPECT_THAT(no_whole.err, HasSubstr("stats share needs --whole=JSON"));

  const Outcome unknown = RunThbctl({"stats", "median"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown;
  EXPECT_THAT(unknown.err,
              HasSubstr("unknown stats command \"median\"; usage: thbctl "
                        "stats count|breakdown|crosstab|share|explain|"
                        "figures"));

  const Outcome nothing = RunThbctl({"stats"});
  EXPECT_EQ(nothing.exit_code, 2) << nothing;

  const Outcome help = RunThbctl({"help"});
  EXPECT_EQ(help.exit_code, 0) << help;
  EXPECT_THAT(help.out, AllOf(HasSubstr("stats figures"),
                              HasSubstr("stats breakdown --by=DIMENSION")));
}

TEST(StatsUsageTest, AnUnreachableAggregatorIsAnErrorNamingIt) {
  const Outcome outcome =
      RunThbctl({"stats", "count", "--timeout=2s"},
                {{"THB_AGGREGATOR_ADDRESS", "127.0.0.1:1"}});
  EXPECT_EQ(outcome.exit_code, 1) << outcome;
  EXPECT_THAT(outcome.err,
              HasSubstr("thbctl: UNAVAILABLE: aggregator at 127.0.0.1:1: "));
}

}  // namespace
}  // namespace thb
