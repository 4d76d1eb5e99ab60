#include "domain/dataset.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
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

// Writes beyond `bytes` fail (EFBIG) while it lives, as on a full disk.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    previous_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, previous_handler_);
  }

 private:
  rlimit saved_;
  sighandler_t previous_handler_;
};

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(SaveDatasetTest, AFailedWriteLeavesTheOldFileWhole) {
  std::string dir = ::testing::TempDir() + "dataset-atomic-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  int files = 0;
  for (const char* name : {"/study.txtpb", "/study.json"}) {
    ++files;
    const std::string path = dir + name;
    std::ofstream(path, std::ios::binary) << "# the previous export\n";
    cooperation::v1::Dataset big;
    for (int i = 0; i < 200; ++i) {
      auto* record = big.add_records();
      record->set_id("r" + std::to_string(i));
      record->set_description(std::string(100, 'x'));
    }
    absl::Status saved;
    {
      FileSizeLimit limit(4096);
      saved = SaveDataset(big, path);
    }
    EXPECT_FALSE(saved.ok()) << name;
    EXPECT_THAT(std::string(saved.message()), HasSubstr(path));
    EXPECT_EQ(Contents(path), "# the previous export\n") << name;
    int entries = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      (void)entry;
      ++entries;
    }
    EXPECT_EQ(entries, files) << "a temporary file was left";

    // Without the limit the same write replaces the file whole.
    ASSERT_TRUE(SaveDataset(big, path).ok());
    auto loaded = LoadDataset(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->records_size(), 200);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace thb::domain
