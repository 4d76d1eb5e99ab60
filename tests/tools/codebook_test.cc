#include "tools/codebook/codebook.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "thb/cooperation/v1/cooperation.pb.h"
#include "thb/cooperation/v1/dataset.pb.h"

namespace thb::codebook {
namespace {

using cooperation::v1::Dataset;
using cooperation::v1::TagVocabulary;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::IsSupersetOf;

std::string SourcePath(const std::string& relative) {
  return absl::StrCat(THB_SOURCE_DIR, "/", relative);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

std::string ShellQuote(const std::string& text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

// Runs the generator as `ninja codebook` does, into a temporary file, and
// returns what it wrote; on failure, what it said.
absl::StatusOr<std::string> RunGenerator() {
  const std::string out = absl::StrCat(::testing::TempDir(), "/CODEBOOK.md");
  std::remove(out.c_str());
  const std::string command = absl::StrCat(
      ShellQuote(CODEBOOK_BIN),
      " --descriptor_set=", ShellQuote(CODEBOOK_DESCRIPTOR_SET),
      " --tags=", ShellQuote(SourcePath("data/tags.txtpb")),
      " --changelog=", ShellQuote(SourcePath("docs/CODEBOOK-CHANGELOG.md")),
      " --out=", ShellQuote(out), " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("cannot start generator");
  std::string said;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0)
    said.append(buffer, n);
  const int status = pclose(pipe);
  if (status != 0) {
    return absl::InternalError(
        absl::StrCat("generator failed (", status, "): ", said));
  }
  return ReadFile(out);
}

// "line 12: expected ... / committed ..." for the first line that differs.
std::string FirstDifference(const std::string& expected,
                            const std::string& committed) {
  std::vector<std::string> a = absl::StrSplit(expected, '\n');
  std::vector<std::string> b = absl::StrSplit(committed, '\n');
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string left = i < a.size() ? a[i] : "<end of file>";
    const std::string right = i < b.size() ? b[i] : "<end of file>";
    if (left != right) {
      return absl::StrCat("first difference at line ", i + 1,
                          ":\n  generated: ", left, "\n  committed: ", right);
    }
  }
  return "the files differ";
}

absl::StatusOr<std::vector<EnumEntry>> LoadEnums() {
  absl::StatusOr<std::string> bytes = ReadFile(CODEBOOK_DESCRIPTOR_SET);
  if (!bytes.ok()) return bytes.status();
  google::protobuf::FileDescriptorSet set;
  if (!set.ParseFromString(*bytes)) {
    return absl::InvalidArgumentError("not a FileDescriptorSet");
  }
  return ReadEnums(set, "thb/cooperation/v1/cooperation.proto");
}

absl::StatusOr<TagVocabulary> LoadVocabulary() {
  const std::string path = SourcePath("data/tags.txtpb");
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseTagVocabulary(*text, path);
}

absl::StatusOr<Dataset> LoadStudy() {
  absl::StatusOr<std::string> text = ReadFile(SourcePath("data/study.txtpb"));
  if (!text.ok()) return text.status();
  Dataset dataset;
  if (!google::protobuf::TextFormat::ParseFromString(*text, &dataset)) {
    return absl::InvalidArgumentError("data/study.txtpb does not parse");
  }
  return dataset;
}

TEST(CodebookTest, CommittedCodebookIsUpToDate) {
  absl::StatusOr<std::string> generated = RunGenerator();
  ASSERT_TRUE(generated.ok()) << generated.status();
  absl::StatusOr<std::string> committed =
      ReadFile(SourcePath("docs/CODEBOOK.md"));
  ASSERT_TRUE(committed.ok()) << committed.status();
  if (*generated != *committed) {
    FAIL() << "docs/CODEBOOK.md is out of date; run `ninja codebook`\n"
           << FirstDifference(*generated, *committed);
  }
}

TEST(CodebookTest, EveryCodeHasDefinitionAndExample) {
  absl::StatusOr<std::vector<EnumEntry>> enums = LoadEnums();
  ASSERT_TRUE(enums.ok()) << enums.status();
  std::vector<std::string> names;
  for (const EnumEntry& entry : *enums) {
    names.push_back(entry.name);
    for (const CodeEntry& code : entry.codes) {
      EXPECT_FALSE(code.definition.empty())
          << code.name << " has no definition in cooperation.proto";
      EXPECT_FALSE(code.example.empty())
          << code.name
          << " has no line starting \"Example: \" in cooperation.proto";
    }
  }
  EXPECT_THAT(names,
              IsSupersetOf({"RecordKind", "ThematicArea", "CooperationForm",
                            "PartnerKind", "FundingSource", "RecordStatus"}));
}

// The codebook lists every value the compiled contract has, so a value
// cannot be missing from it, whatever its comment.
TEST(CodebookTest, ListsEveryValueOfTheContract) {
  absl::StatusOr<std::vector<EnumEntry>> enums = LoadEnums();
  ASSERT_TRUE(enums.ok()) << enums.status();
  std::set<std::string> listed;
  for (const EnumEntry& entry : *enums) {
    for (const CodeEntry& code : entry.codes) listed.insert(code.name);
  }
  const google::protobuf::FileDescriptor* file =
      cooperation::v1::RecordKind_descriptor()->file();
  ASSERT_EQ(static_cast<size_t>(file->enum_type_count()), enums->size());
  for (int i = 0; i < file->enum_type_count(); ++i) {
    const google::protobuf::EnumDescriptor* enum_type = file->enum_type(i);
    for (int v = 0; v < enum_type->value_count(); ++v) {
      const std::string& name = enum_type->value(v)->name();
      if (enum_type->value(v)->number() == 0) {
        EXPECT_EQ(listed.count(name), 0u) << name << " is not a code";
      } else {
        EXPECT_EQ(listed.count(name), 1u) << name << " is missing";
      }
    }
  }
}

TEST(CodebookTest, VocabularyIsComplete) {
  absl::StatusOr<std::vector<EnumEntry>> enums = LoadEnums();
  ASSERT_TRUE(enums.ok()) << enums.status();
  absl::StatusOr<TagVocabulary> vocabulary = LoadVocabulary();
  ASSERT_TRUE(vocabulary.ok()) << vocabulary.status();
  EXPECT_THAT(FindGaps(*enums, *vocabulary), IsEmpty());
}

TEST(CodebookTest, EveryTagOfTheStudyIsDefined) {
  absl::StatusOr<TagVocabulary> vocabulary = LoadVocabulary();
  ASSERT_TRUE(vocabulary.ok()) << vocabulary.status();
  absl::StatusOr<Dataset> study = LoadStudy();
  ASSERT_TRUE(study.ok()) << study.status();
  std::set<std::string> defined;
  for (const auto& tag : vocabulary->tags()) defined.insert(tag.tag());
  for (const auto& record : study->records()) {
    for (const std::string& tag : record.tags()) {
      EXPECT_EQ(defined.count(tag), 1u)
          << "record " << record.id() << " has tag \"" << tag
          << "\", which data/tags.txtpb does not define";
    }
  }
  for (const auto& statement : study->statements()) {
    for (const std::string& tag : statement.filter().tags()) {
      EXPECT_EQ(defined.count(tag), 1u)
          << "statement of footnote " << statement.footnote()
          << " filters on tag \"" << tag
          << "\", which data/tags.txtpb does not define";
    }
  }
}

// An example that names a record (`fn15-at`) points at one that exists.
TEST(CodebookTest, ExamplesNameRecordsOfTheStudy) {
  absl::StatusOr<std::vector<EnumEntry>> enums = LoadEnums();
  ASSERT_TRUE(enums.ok()) << enums.status();
  absl::StatusOr<TagVocabulary> vocabulary = LoadVocabulary();
  ASSERT_TRUE(vocabulary.ok()) << vocabulary.status();
  absl::StatusOr<Dataset> study = LoadStudy();
  ASSERT_TRUE(study.ok()) << study.status();
  std::set<std::string> ids;
  for (const auto& record : study->records()) ids.insert(record.id());

  std::vector<std::pair<std::string, std::string>> texts;  // owner, text
  for (const EnumEntry& entry : *enums) {
    for (const CodeEntry& code : entry.codes) {
      texts.emplace_back(code.name, code.definition + " " + code.example);
    }
  }
  for (const auto& tag : vocabulary->tags()) {
    texts.emplace_back(tag.tag(), tag.definition() + " " + tag.example());
  }
  const std::regex record_id("`(fn[0-9]{2}-[a-z]{2})`");
  int named = 0;
  for (const auto& [owner, text] : texts) {
    for (std::sregex_iterator it(text.begin(), text.end(), record_id), end;
         it != end; ++it) {
      ++named;
      EXPECT_EQ(ids.count((*it)[1]), 1u)
          << owner << " names record " << (*it)[1]
          << ", which data/study.txtpb does not hold";
    }
  }
  EXPECT_GT(named, 0);
}

TEST(SplitCodeCommentTest, SplitsAtTheExampleLine) {
  SplitComment split = SplitCodeComment(
      " A bilateral agreement (\"such as\n through bilateral agreements\").\n"
      " Example: `fn15-at`: AT's\n structured cooperation.\n");
  EXPECT_EQ(split.definition,
            "A bilateral agreement (\"such as through bilateral "
            "agreements\").");
  EXPECT_EQ(split.example, "`fn15-at`: AT's structured cooperation.");
}

TEST(SplitCodeCommentTest, WithoutExampleLineAllIsDefinition) {
  SplitComment split = SplitCodeComment(" Finished.\n An Example: no.\n");
  EXPECT_EQ(split.definition, "Finished. An Example: no.");
  EXPECT_EQ(split.example, "");
}

TEST(IsLowerKebabTest, AcceptsWordsJoinedByHyphens) {
  EXPECT_TRUE(IsLowerKebab("low-trust"));
  EXPECT_TRUE(IsLowerKebab("covid-19"));
  EXPECT_FALSE(IsLowerKebab(""));
  EXPECT_FALSE(IsLowerKebab("Low-trust"));
  EXPECT_FALSE(IsLowerKebab("low_trust"));
  EXPECT_FALSE(IsLowerKebab("low--trust"));
  EXPECT_FALSE(IsLowerKebab("-low"));
  EXPECT_FALSE(IsLowerKebab("low-"));
}

TEST(RenderCodebookTest, EscapesCellsAndAppendsChangelog) {
  EnumEntry entry;
  entry.name = "RecordStatus";
  entry.full_name = "thb.cooperation.v1.RecordStatus";
  entry.fields = {"CooperationRecord.status"};
  entry.codes.push_back({"RECORD_STATUS_ONGOING", 2, "a | b", "c"});
  TagVocabulary vocabulary;
  auto* tag = vocabulary.add_tags();
  tag->set_tag("covid-19");
  tag->set_definition("The pandemic.");
  tag->set_example("`fn26-at`.");

  std::string markdown =
      RenderCodebook({entry}, vocabulary, "### 2026-11-28\n\n- First.\n\n\n");
  EXPECT_THAT(markdown, HasSubstr("## Record status\n\n"
                                  "`thb.cooperation.v1.RecordStatus`, field "
                                  "`CooperationRecord.status`.\n"));
  EXPECT_THAT(markdown,
              HasSubstr("| `RECORD_STATUS_ONGOING` | 2 | a \\| b | c |\n"));
  EXPECT_THAT(markdown,
              HasSubstr("| `covid-19` | The pandemic. | `fn26-at`. |\n"));
  EXPECT_THAT(markdown, HasSubstr("- [Record status](#record-status)\n"));
  EXPECT_THAT(markdown, HasSubstr("## Changelog\n\n### 2026-11-28\n\n- First."
                                  "\n"));
  // One newline at the end, however many the changelog has.
  EXPECT_TRUE(absl::EndsWith(markdown, "- First.\n")) << markdown;
}

}  // namespace
}  // namespace thb::codebook
