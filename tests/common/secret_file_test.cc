#include "common/secret_file.h"

#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string WriteFile(const std::string& content) {
  const std::string path =
      absl::StrCat(testing::MakeTempDir("secret"), "/secret");
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(ReadSecretFileTest, ReturnsTheBytesAsTheyAre) {
  const std::string content = std::string("key\0with\nbytes\n", 15);
  EXPECT_EQ(*ReadSecretFile("--key_file", WriteFile(content)), content);
}

TEST(ReadSecretFileTest, ReadsAFileAtTheLimitAndRefusesOneByteMore) {
  const std::string at_limit(kMaxSecretFileBytes, 'k');
  EXPECT_EQ(*ReadSecretFile("--key_file", WriteFile(at_limit)), at_limit);

  const std::string path = WriteFile(at_limit + "k");
  const absl::Status status = ReadSecretFile("--key_file", path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            absl::StrCat("--key_file \"", path, "\": longer than ",
                         kMaxSecretFileBytes, " bytes"));
}

TEST(ReadSecretFileTest, ErrorsNameTheFileNeverTheContent) {
  const std::string missing = testing::MakeTempDir("secret") + "/missing";
  absl::Status status = ReadSecretFile("--key_file", missing).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("--key_file \"", missing,
                                                       "\": cannot open")));

  const std::string too_long(kMaxSecretFileBytes + 1, 'Q');
  status = ReadSecretFile("--key_file", WriteFile(too_long)).status();
  EXPECT_THAT(status.message(), Not(HasSubstr("QQ")));

  status = ReadSecretFile("--key_file", "").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no path given"));
}

}  // namespace
}  // namespace thb
