#include "domain/dataset.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace thb::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kSmall[] = R"pb(
  # A comment.
  title: "Small"
  as_of_date: "2025-07-16"
  statements {
    footnote: 1
    filter { kinds: RECORD_KIND_MEASURE }
    count: 1
    countries: "AT."
  }
  statements { footnote: 2 count: 1 within: 1 }
  records { id: "fn01-at" reporting_country: "AT" kind: RECORD_KIND_MEASURE }
)pb";

class DatasetFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = ::testing::TempDir() + name;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
    written_.push_back(path);
    return path;
  }

  void TearDown() override {
    for (const auto& path : written_) std::remove(path.c_str());
  }

 private:
  std::vector<std::string> written_;
};

TEST_F(DatasetFileTest, LoadsTextFormat) {
  const std::string path = Write("small.txtpb", kSmall);
  auto dataset = LoadDataset(path);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  EXPECT_EQ(dataset->title(), "Small");
  EXPECT_EQ(dataset->statements_size(), 2);
  EXPECT_EQ(dataset->records(0).id(), "fn01-at");
}

TEST_F(DatasetFileTest, ASyntaxErrorNamesPathLineAndColumn) {
  const std::string path = Write("broken.txtpb",
                                 "title: \"x\"\n"
                                 "statements {\n"
                                 "  footnote: 1\n"
                                 "  count: \"eleven\"\n"
                                 "}\n");
  auto dataset = LoadDataset(path);
  ASSERT_EQ(dataset.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dataset.status().message()),
              StartsWith(path + ":4:10: "));
}

TEST_F(DatasetFileTest, AnUnknownFieldNamesItsLine) {
  const std::string path = Write("unknown.txtpb", "title: \"x\"\nfigures: 3\n");
  auto dataset = LoadDataset(path);
  ASSERT_EQ(dataset.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dataset.status().message()),
              StartsWith(path + ":2:"));
  EXPECT_THAT(std::string(dataset.status().message()), HasSubstr("figures"));
}

TEST_F(DatasetFileTest, LoadsJsonAndSavesBothFormats) {
  auto small = ParseDatasetText(kSmall, "small");
  ASSERT_TRUE(small.ok()) << small.status();
  const std::string json_path = Write("small.json", "");
  ASSERT_TRUE(SaveDataset(*small, json_path).ok());
  auto from_json = LoadDataset(json_path);
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_EQ(from_json->SerializeAsString(), small->SerializeAsString());

  const std::string text_path = Write("saved.txtpb", "");
  ASSERT_TRUE(SaveDataset(*small, text_path).ok());
  auto from_text = LoadDataset(text_path);
  ASSERT_TRUE(from_text.ok()) << from_text.status();
  EXPECT_EQ(from_text->SerializeAsString(), small->SerializeAsString());
}

TEST_F(DatasetFileTest, ABrokenJsonFileNamesThePath) {
  const std::string path = Write("broken.json", "{\"title\": 3,");
  auto dataset = LoadDataset(path);
  ASSERT_EQ(dataset.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dataset.status().message()), StartsWith(path + ": "));
}

TEST_F(DatasetFileTest, AMissingFileIsNotFound) {
  auto dataset = LoadDataset(::testing::TempDir() + "no-such-dataset.txtpb");
  EXPECT_EQ(dataset.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(dataset.status().message()),
              HasSubstr("no-such-dataset.txtpb"));
}

TEST(ValidateDatasetTest, NamesEveryWrongField) {
  auto dataset = ParseDatasetText(R"pb(
                                    as_of_date: "2025-13-01"
                                    statements {
                                      footnote: 3
                                      filter { kinds: RECORD_KIND_UNSPECIFIED }
                                      within: 9
                                      contrasted_with: 3
                                    }
                                    statements { footnote: 3 count: -1 }
                                    records { id: "a" }
                                    records { id: "a" }
                                  )pb",
                                  "bad.txtpb");
  ASSERT_EQ(dataset.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dataset.status().message()),
              StartsWith("bad.txtpb: as_of_date: "));
  std::vector<std::string> fields;
  for (const auto& violation : FieldViolations(dataset.status())) {
    fields.push_back(violation.field);
  }
  EXPECT_THAT(fields,
              ElementsAre("as_of_date", "statements[0].filter.kinds[0]",
                          "statements[1].footnote", "statements[1].count",
                          "statements[0].within[0]",
                          "statements[0].contrasted_with[0]", "records[1].id"));
}

}  // namespace
}  // namespace thb::domain
