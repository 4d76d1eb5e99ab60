// thbctl as a user runs it: a subprocess against real thb-registry and
// thb-cooperation processes on free ports with their own SQLite files, its
// stdout, stderr and exit code checked.

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/channel.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"
#include "tests/tools/thbctl_runner.h"
#include "thb/cooperation/v1/cooperation_service.pb.h"
#include "thb/cooperation/v1/dataset.pb.h"
#include "thb/registry/v1/registry.pb.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"
#include "thb/registry/v1/registry_service.pb.h"

namespace thb {
namespace {

using cooperation::v1::CooperationRecord;
using cooperation::v1::Dataset;
using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using ::thb::testing::Outcome;
using ::thb::testing::Process;
using ::thb::testing::ReadFile;
using ::thb::testing::RunThbctl;
using ::thb::testing::WriteFile;

Dataset Study() {
  Dataset dataset;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      ReadFile(THB_STUDY_DATASET), &dataset));
  return dataset;
}

std::string StudyDirectory() {
  const std::string path = THB_STUDY_DATASET;
  const std::string data = path.substr(0, path.rfind('/'));
  return data.substr(0, data.rfind('/'));
}

// One registry and one cooperation service, each with its own database.
class Services {
 public:
  ~Services() {
    cooperation_.reset();
    registry_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void Start(const std::vector<std::string>& cooperation_args = {}) {
    dir_ = thb::testing::MakeTempDir("thbctl");
    registry_address_ =
        StartOne(THB_REGISTRY_BIN, "registry",
                 {absl::StrCat("--db=", dir_, "/registry.sqlite3")}, registry_);
    std::vector<std::string> args = {
        absl::StrCat("--db=", dir_, "/coop.sqlite3"),
        absl::StrCat("--registry=", registry_address_)};
    args.insert(args.end(), cooperation_args.begin(), cooperation_args.end());
    cooperation_address_ =
        StartOne(THB_COOPERATION_BIN, "cooperation", args, cooperation_);
  }

  // thbctl with the services' addresses in front of `args`.
  Outcome Run(std::vector<std::string> args) const {
    args.insert(args.begin(),
                {absl::StrCat("--registry=", registry_address_),
                 absl::StrCat("--cooperation=", cooperation_address_)});
    return RunThbctl(args);
  }

  const std::string& dir() const { return dir_; }
  const std::string& registry_address() const { return registry_address_; }
  const std::string& cooperation_address() const {
    return cooperation_address_;
  }

 private:
  std::string StartOne(const std::string& binary, const std::string& name,
                       std::vector<std::string> args,
                       std::unique_ptr<Process>& process) {
    const std::string port_file = absl::StrCat(dir_, "/", name, ".port");
    args.insert(args.end(),
                {"--port=0", absl::StrCat("--port_file=", port_file),
                 "--drain=0s", "--health_port=0"});
    for (std::string& arg : thb::testing::TestPki::Get().ServerArgs(name)) {
      args.push_back(std::move(arg));
    }
    auto started = Process::Start(binary, args);
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return "";
    process = std::make_unique<Process>(*std::move(started));
    auto port =
        thb::testing::WaitForPortFile(port_file, *process, absl::Seconds(30));
    EXPECT_TRUE(port.ok()) << port.status();
    return port.ok() ? absl::StrCat("127.0.0.1:", *port) : "";
  }

  std::string dir_;
  std::unique_ptr<Process> registry_;
  std::unique_ptr<Process> cooperation_;
  std::string registry_address_;
  std::string cooperation_address_;
};

class ThbctlTest : public ::testing::Test {
 protected:
  void StartAndImportStudy(
      const std::vector<std::string>& cooperation_args = {}) {
    services_.Start(cooperation_args);
    ASSERT_FALSE(::testing::Test::HasFailure());
    const Outcome imported = services_.Run({"import", THB_STUDY_DATASET});
    ASSERT_EQ(imported.exit_code, 0) << imported;
  }

  Services services_;
};

std::vector<std::vector<std::string>> CsvRows(const std::string& csv) {
  std::vector<std::vector<std::string>> rows;
  // The study's values hold no quotes or line breaks, so a plain split
  // reads them.
  for (absl::string_view line : absl::StrSplit(csv, "\r\n")) {
    if (line.empty()) continue;
    rows.push_back(absl::StrSplit(line, ','));
  }
  return rows;
}

TEST_F(ThbctlTest, ImportIsIdempotentAndExportGivesTheRecordsBack) {
  services_.Start();
  const Dataset study = Study();
  ASSERT_EQ(study.records_size(), 179);

  const Outcome first = services_.Run({"import", THB_STUDY_DATASET});
  ASSERT_EQ(first.exit_code, 0) << first;
  EXPECT_THAT(
      first.out,
      MatchesRegex("imported 179 records in 1 batch \\(0 replayed\\) "
                   "at revision 1 in [0-9.]+ s \\([0-9]+ records/s\\)\n"));
  // Not a terminal: no progress bar.
  EXPECT_THAT(first.err, IsEmpty());

  const Outcome again = services_.Run({"import", THB_STUDY_DATASET});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_THAT(again.out, HasSubstr("imported 179 records in 1 batch "
                                   "(1 replayed) at revision 1 in"));

  // Other batches have other request ids: the service refuses them as
  // existing, and thbctl finds the records it has identical.
  const Outcome rebatched =
      services_.Run({"import", "--batch_size=50", THB_STUDY_DATASET});
  ASSERT_EQ(rebatched.exit_code, 0) << rebatched;
  EXPECT_THAT(rebatched.out, HasSubstr("imported 179 records in 4 batches "
                                       "(4 replayed) at revision 1 in"));

  const Outcome json = services_.Run({"export"});
  ASSERT_EQ(json.exit_code, 0) << json;
  Dataset exported;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &exported).ok())
      << json.out;
  ASSERT_EQ(exported.records_size(), study.records_size());
  std::map<std::string, CooperationRecord> by_id;
  for (const auto& record : exported.records()) by_id[record.id()] = record;
  // The service keeps these lists sorted; the file need not.
  google::protobuf::util::MessageDifferencer differencer;
  for (const char* field :
       {"thematic_areas", "target_regions", "target_countries", "tags"}) {
    differencer.TreatAsSet(
        CooperationRecord::descriptor()->FindFieldByName(field));
  }
  for (const auto& record : study.records()) {
    ASSERT_TRUE(by_id.count(record.id())) << record.id();
    EXPECT_TRUE(differencer.Compare(by_id[record.id()], record))
        << record.DebugString() << "exported as\n"
        << by_id[record.id()].DebugString();
  }

  const std::string csv_path = absl::StrCat(services_.dir(), "/records.csv");
  const Outcome csv =
      services_.Run({"export", "--format=csv", "--output", csv_path});
  ASSERT_EQ(csv.exit_code, 0) << csv;
  EXPECT_THAT(csv.out, HasSubstr("exported 179 records"));
  const auto rows = CsvRows(ReadFile(csv_path));
  ASSERT_EQ(rows.size(), 180u);
  EXPECT_EQ(absl::StrJoin(rows[0], ","),
            "id,reporting_country,kind,thematic_areas,form,partners,"
            "target_regions,target_countries,start_year,end_year,status,tags,"
            "source_footnotes,title");
  EXPECT_EQ(absl::StrJoin(rows[1], ","),
            "fn07-be,BE,MEASURE,,,EU_AGENCY:,,,2021,2023,ONGOING,,7,"
            "Cooperation with EU agencies in third countries");
}

TEST_F(ThbctlTest, ImportReconcilesRecordsWhoseRequestIdsExpired) {
  // One revision of history: the first batch's request id is forgotten as
  // soon as the second batch commits.
  services_.Start({"--history_revisions=1"});
  ASSERT_FALSE(HasFailure());
  const Outcome first =
      services_.Run({"import", "--batch_size=100", THB_STUDY_DATASET});
  ASSERT_EQ(first.exit_code, 0) << first;
  EXPECT_THAT(first.out, HasSubstr("in 2 batches (0 replayed) at revision 2"));

  const Outcome again =
      services_.Run({"import", "--batch_size=100", THB_STUDY_DATASET});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_THAT(again.out, HasSubstr("in 2 batches (2 replayed) at revision 2"));

  // A record missing from a forgotten batch is created again.
  ASSERT_EQ(services_.Run({"records", "delete", "fn07-be"}).exit_code, 0);
  const Outcome restored =
      services_.Run({"import", "--batch_size=100", THB_STUDY_DATASET});
  ASSERT_EQ(restored.exit_code, 0) << restored;
  EXPECT_THAT(restored.out,
              HasSubstr("in 2 batches (1 replayed) at revision 4"));
  EXPECT_EQ(services_.Run({"records", "get", "fn07-be"}).exit_code, 0);

  // A record that exists with other content is an error naming it.
  Dataset changed = Study();
  for (auto& record : *changed.mutable_records()) {
    if (record.id() == "fn10-be") record.set_title("Another title");
  }
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(changed, &text));
  const std::string path = absl::StrCat(services_.dir(), "/changed.txtpb");
  WriteFile(path, text);
  const Outcome conflict = services_.Run({"import", "--batch_size=100", path});
  EXPECT_EQ(conflict.exit_code, 1) << conflict;
  EXPECT_THAT(conflict.err,
              HasSubstr("thbctl: ALREADY_EXISTS: record \"fn10-be\" already "
                        "exists with other content (fields: title)"));
}

TEST_F(ThbctlTest, RecordsListGetAndDelete) {
  ASSERT_NO_FATAL_FAILURE(StartAndImportStudy());

  const Outcome got = services_.Run({"records", "get", "fn10-be"});
  ASSERT_EQ(got.exit_code, 0) << got;
  EXPECT_THAT(got.out, AllOf(ContainsRegex("id: +fn10-be\n"),
                             ContainsRegex("kind: +GOOD_PRACTICE\n"),
                             ContainsRegex("thematic areas: +PREVENTION\n")));

  // Footnote 10: thirteen countries with prevention good practices, by
  // short and by full enum names.
  for (const std::vector<std::string>& filter :
       {std::vector<std::string>{"--kind", "GOOD_PRACTICE", "--area",
                                 "PREVENTION"},
        std::vector<std::string>{"--kind=RECORD_KIND_GOOD_PRACTICE",
                                 "--area=thematic_area_prevention"}}) {
    std::vector<std::string> args = {"records", "list", "--format=csv"};
    args.insert(args.end(), filter.begin(), filter.end());
    const Outcome listed = services_.Run(args);
    ASSERT_EQ(listed.exit_code, 0) << listed;
    std::set<std::string> countries;
    const auto rows = CsvRows(listed.out);
    for (size_t i = 1; i < rows.size(); ++i) countries.insert(rows[i][1]);
    EXPECT_EQ(countries.size(), 13u) << listed.out;
  }

  const Outcome table = services_.Run(
      {"records", "list", "--partner_kind=EU_AGENCY", "--country=gr,BE"});
  ASSERT_EQ(table.exit_code, 0) << table;
  EXPECT_THAT(table.out, MatchesRegex("ID +COUNTRY +KIND .*\n"
                                      "fn07-be +BE +MEASURE .*\n"));

  const Outcome json =
      services_.Run({"records", "list", "--format=json", "--page_size=7"});
  ASSERT_EQ(json.exit_code, 0) << json;
  cooperation::v1::ListRecordsResponse all;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &all).ok());
  EXPECT_EQ(all.records_size(), 179);

  const Outcome deleted = services_.Run({"records", "delete", "fn10-be"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted;
  EXPECT_EQ(deleted.out, "deleted record fn10-be at revision 2\n");

  const Outcome gone = services_.Run({"records", "get", "fn10-be"});
  EXPECT_EQ(gone.exit_code, 1) << gone;
  EXPECT_EQ(gone.err, "thbctl: NOT_FOUND: record \"fn10-be\" not found\n");
  EXPECT_THAT(gone.out, IsEmpty());

  const Outcome unknown = services_.Run({"records", "get", "no-such-record"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown;
  EXPECT_THAT(unknown.err, HasSubstr("\"no-such-record\" not found"));

  // The service's field violations are printed one a line.
  const Outcome invalid = services_.Run({"records", "get", "Not_An_Id"});
  EXPECT_EQ(invalid.exit_code, 1) << invalid;
  EXPECT_THAT(invalid.err,
              AllOf(HasSubstr("thbctl: INVALID_ARGUMENT: id: \"Not_An_Id\""),
                    HasSubstr("\n  field id: \"Not_An_Id\" is not an id")));

  const Outcome stale =
      services_.Run({"records", "delete", "fn10-de", "--etag=0000"});
  EXPECT_EQ(stale.exit_code, 1) << stale;
  EXPECT_THAT(stale.err, HasSubstr("thbctl: ABORTED: etag \"0000\""));
}

TEST_F(ThbctlTest, RegistryCommands) {
  services_.Start();
  ASSERT_FALSE(HasFailure());

  // The address from the environment, as the services take theirs.
  const Outcome greece =
      RunThbctl({"countries", "get", "GR"},
                {{"THB_REGISTRY_ADDRESS", services_.registry_address()}});
  ASSERT_EQ(greece.exit_code, 0) << greece;
  EXPECT_THAT(greece.out, AllOf(ContainsRegex("code: +EL\n"),
                                ContainsRegex("name: +Greece\n"),
                                ContainsRegex("EMN status: +MEMBER on ")));
  const Outcome greece_json =
      services_.Run({"countries", "get", "gr", "--format=json"});
  ASSERT_EQ(greece_json.exit_code, 0) << greece_json;
  registry::v1::Country country;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(greece_json.out, &country)
          .ok());
  EXPECT_EQ(country.code(), "EL");

  const Outcome observers =
      services_.Run({"countries", "list", "--emn_status", "OBSERVER", "--as_of",
                     "2023-12-31"});
  ASSERT_EQ(observers.exit_code, 0) << observers;
  std::vector<std::string> codes;
  std::vector<std::string> lines =
      absl::StrSplit(observers.out, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines[0], MatchesRegex("CODE +NAME +EU +EMN STATUS +SINCE +"
                                     "REGIONS"));
  for (size_t i = 1; i < lines.size(); ++i) {
    codes.push_back(lines[i].substr(0, lines[i].find(' ')));
    EXPECT_THAT(lines[i], HasSubstr(" OBSERVER ")) << lines[i];
  }
  EXPECT_THAT(codes,
              UnorderedElementsAre("NO", "GE", "MD", "UA", "ME", "AM", "RS"));

  const Outcome sahel = services_.Run(
      {"countries", "list", "--region=sahel", "--non_eu", "--format=json"});
  ASSERT_EQ(sahel.exit_code, 0) << sahel;
  registry::v1::ListCountriesResponse sahel_countries;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(sahel.out, &sahel_countries)
          .ok());
  EXPECT_EQ(sahel_countries.countries_size(), 5);

  const Outcome regions = services_.Run({"regions"});
  ASSERT_EQ(regions.exit_code, 0) << regions;
  EXPECT_THAT(regions.out, ContainsRegex("\nSAHEL +Sahel +BF,ML,MR,NE,TD\n"));
  const Outcome iom = services_.Run({"organisations", "get", "iom"});
  ASSERT_EQ(iom.exit_code, 0) << iom;
  EXPECT_THAT(iom.out, ContainsRegex("kind: +INTERNATIONAL_ORGANISATION\n"));
  const Outcome organisations = services_.Run({"organisations", "list"});
  ASSERT_EQ(organisations.exit_code, 0) << organisations;
  EXPECT_THAT(organisations.out, ContainsRegex("\nEUROPOL +EU_AGENCY +"));

  const Outcome unknown = services_.Run({"countries", "get", "XX"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown;
  EXPECT_EQ(unknown.err, "thbctl: NOT_FOUND: country \"XX\" not found\n");
}

TEST_F(ThbctlTest, CheckReportsTheStudysQuirksAndAMissingRecord) {
  ASSERT_NO_FATAL_FAILURE(StartAndImportStudy());
  const std::string warnings =
      "WARNING fn 11: CY is not in fn 10, which the source presents as "
      "including fn 11's countries\n"
      "WARNING fn 16: FR, GE are also in fn 15, which the source contrasts "
      "with fn 16\n";

  // The default file is data/study.txtpb under the current directory.
  const Outcome clean = RunThbctl(
      {absl::StrCat("--registry=", services_.registry_address()),
       absl::StrCat("--cooperation=", services_.cooperation_address()),
       "check"},
      {}, StudyDirectory());
  EXPECT_EQ(clean.exit_code, 0) << clean;
  EXPECT_THAT(clean.out, HasSubstr(warnings));
  EXPECT_THAT(clean.out, HasSubstr("checked 24 statements of data/study.txtpb "
                                   "against 179 records"));
  EXPECT_THAT(clean.out, HasSubstr(": 0 errors, 2 warnings\n"));
  EXPECT_THAT(clean.out, Not(HasSubstr("ERROR")));

  const Outcome offline =
      RunThbctl({"check", "--offline", "--cooperation=127.0.0.1:1",
                 "--registry=127.0.0.1:1", THB_STUDY_DATASET});
  EXPECT_EQ(offline.exit_code, 0) << offline;
  EXPECT_THAT(offline.out, HasSubstr(warnings));

  ASSERT_EQ(services_.Run({"records", "delete", "fn07-be"}).exit_code, 0);
  const Outcome broken = services_.Run({"check", THB_STUDY_DATASET});
  EXPECT_EQ(broken.exit_code, 1) << broken;
  EXPECT_THAT(
      broken.out,
      AllOf(HasSubstr("ERROR fn 7: the records give 10 countries, the "
                      "source says 11\n"),
            HasSubstr(warnings), HasSubstr(": 2 errors, 2 warnings\n")));
  EXPECT_EQ(broken.err, "thbctl: the data-quality check found 2 errors\n");
}

TEST_F(ThbctlTest, AuditListsTheWritesOfBothServicesNewestFirst) {
  ASSERT_NO_FATAL_FAILURE(StartAndImportStudy());
  ASSERT_EQ(services_.Run({"records", "delete", "fn07-be"}).exit_code, 0);
  // thbctl writes no registry data: a client does.
  auto registry = registry::v1::CountryRegistryService::NewStub(
      thb::testing::TestChannel(services_.registry_address()));
  registry::v1::CreateOrganisationRequest create;
  create.mutable_organisation()->set_id("ACME");
  create.mutable_organisation()->set_name("Acme");
  create.mutable_organisation()->set_kind(registry::v1::ORGANISATION_KIND_CSO);
  registry::v1::CreateOrganisationResponse created;
  grpc::ClientContext context;
  ASSERT_TRUE(registry->CreateOrganisation(&context, create, &created).ok());

  const Outcome record =
      services_.Run({"audit", "--service=cooperation",
                     "--resource=records/fn07-be", "--format=json"});
  ASSERT_EQ(record.exit_code, 0) << record;
  registry::v1::ListAuditEventsResponse events;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(record.out, &events).ok())
      << record.out;
  ASSERT_EQ(events.events_size(), 2);
  EXPECT_EQ(events.events(0).method(),
            "/thb.cooperation.v1.CooperationRecordService/DeleteRecord");
  EXPECT_EQ(events.events(1).method(),
            "/thb.cooperation.v1.CooperationRecordService/BatchCreateRecords");
  EXPECT_EQ(events.events(1).principal(), "spiffe://thb/admin/dev");
  EXPECT_FALSE(events.events(1).request_id().empty()) << "import's batch id";

  const Outcome newest = services_.Run({"audit", "--limit=2"});
  ASSERT_EQ(newest.exit_code, 0) << newest;
  const std::vector<std::string> lines =
      absl::StrSplit(newest.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << newest.out;
  EXPECT_THAT(lines[0], MatchesRegex("TIME +SERVICE +PRINCIPAL +METHOD +"
                                     "RESOURCE +REVISION +REQUEST ID +PEER"));
  EXPECT_THAT(
      lines[1],
      ContainsRegex("registry +spiffe://thb/admin/dev +CreateOrganisation "
                    "+organisations/ACME +2 "));
  EXPECT_THAT(lines[2],
              ContainsRegex("cooperation +spiffe://thb/admin/dev +DeleteRecord "
                            "+records/fn07-be "));

  const Outcome registry_only =
      services_.Run({"audit", "--service=registry", "--since=1h"});
  EXPECT_EQ(registry_only.exit_code, 0) << registry_only;
  EXPECT_THAT(registry_only.out, HasSubstr("organisations/ACME"));
  EXPECT_THAT(registry_only.out, Not(HasSubstr("records/")));
  const Outcome before =
      services_.Run({"audit", "--until=2000-01-01T00:00:00Z", "--format=json"});
  EXPECT_EQ(before.exit_code, 0) << before;
  registry::v1::ListAuditEventsResponse none;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(before.out, &none).ok())
      << before.out;
  EXPECT_EQ(none.events_size(), 0);

  for (const char* flag :
       {"--service=aggregator", "--since=yesterday", "--limit=0"}) {
    const Outcome refused = services_.Run({"audit", flag});
    EXPECT_EQ(refused.exit_code, 2) << flag << ": " << refused;
    EXPECT_THAT(refused.err, HasSubstr(std::string(flag).substr(
                                 0, std::string(flag).find('='))));
  }
  const Outcome bad_filter = services_.Run({"audit", "--resource=fn07-be"});
  EXPECT_EQ(bad_filter.exit_code, 1) << bad_filter;
  EXPECT_THAT(bad_filter.err, HasSubstr("resource"));
}

TEST(ThbctlUsageTest, UsageErrorsExitTwoAndNameTheMistake) {
  const Outcome bad_enum =
      RunThbctl({"records", "list", "--kind=GOOD_PRACTICE,GREAT_PRACTICE"});
  EXPECT_EQ(bad_enum.exit_code, 2) << bad_enum;
  EXPECT_THAT(bad_enum.err,
              AllOf(HasSubstr("--kind: \"GREAT_PRACTICE\" is not a RecordKind"),
                    HasSubstr("accepted: MEASURE, GOOD_PRACTICE, CHALLENGE")));

  const Outcome bad_tag = RunThbctl({"records", "list", "--tag=Low Trust"});
  EXPECT_EQ(bad_tag.exit_code, 2) << bad_tag;
  EXPECT_THAT(bad_tag.err, HasSubstr("--tag: \"Low Trust\""));

  const Outcome bad_date =
      RunThbctl({"countries", "list", "--as_of=2023-02-30"});
  EXPECT_EQ(bad_date.exit_code, 2) << bad_date;
  EXPECT_THAT(bad_date.err, HasSubstr("--as_of: \"2023-02-30\""));

  const Outcome bad_format = RunThbctl({"export", "--format=table"});
  EXPECT_EQ(bad_format.exit_code, 2) << bad_format;
  EXPECT_THAT(bad_format.err, HasSubstr("accepted: json, csv"));

  const Outcome unknown_flag = RunThbctl({"records", "list", "--knd=MEASURE"});
  EXPECT_EQ(unknown_flag.exit_code, 2) << unknown_flag;
  EXPECT_THAT(unknown_flag.err, HasSubstr("unknown flag --knd"));

  const Outcome missing_id = RunThbctl({"records", "get"});
  EXPECT_EQ(missing_id.exit_code, 2) << missing_id;
  EXPECT_THAT(missing_id.err, HasSubstr("usage: thbctl records get ID"));

  const Outcome unknown_command = RunThbctl({"statistics"});
  EXPECT_EQ(unknown_command.exit_code, 2) << unknown_command;
  EXPECT_THAT(unknown_command.err, HasSubstr("unknown command \"statistics\""));

  const Outcome nothing = RunThbctl({});
  EXPECT_EQ(nothing.exit_code, 2) << nothing;
  EXPECT_THAT(nothing.err, HasSubstr("Commands:"));

  const Outcome help = RunThbctl({"help"});
  EXPECT_EQ(help.exit_code, 0) << help;
  EXPECT_THAT(help.out, AllOf(HasSubstr("import FILE"), HasSubstr("check"),
                              HasSubstr("countries list")));
}

TEST(ThbctlUsageTest, AnUnreachableServiceIsAnErrorNamingIt) {
  const Outcome outcome = RunThbctl(
      {"records", "list", "--timeout=2s", "--cooperation=127.0.0.1:1"});
  EXPECT_EQ(outcome.exit_code, 1) << outcome;
  EXPECT_THAT(outcome.err,
              HasSubstr("thbctl: UNAVAILABLE: cooperation at 127.0.0.1:1: "));

  const Outcome missing = RunThbctl({"import", "/nonexistent/file.txtpb"});
  EXPECT_EQ(missing.exit_code, 1) << missing;
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent/file.txtpb"));
}

}  // namespace
}  // namespace thb
