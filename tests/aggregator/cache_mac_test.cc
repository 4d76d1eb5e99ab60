#include "services/aggregator/cache_mac.h"

#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/secret_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace thb::aggregator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef";

CacheMac Mac(const std::string& key = kKey) {
  absl::StatusOr<CacheMac> mac = CacheMac::FromKey(key);
  EXPECT_TRUE(mac.ok()) << mac.status();
  return *std::move(mac);
}

std::string WriteFile(const std::string& content) {
  const std::string path = absl::StrCat(testing::MakeTempDir("mac"), "/key");
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(CacheMacTest, SealsAsVersionTagValue) {
  const std::string sealed = *Mac().Seal("thb:v1:k", "value");
  ASSERT_EQ(sealed.size(), CacheMac::kHeaderBytes + 5);
  EXPECT_EQ(sealed[0], '\x01');
  EXPECT_EQ(sealed.substr(CacheMac::kHeaderBytes), "value");
  EXPECT_EQ(*Mac().Open("thb:v1:k", sealed), "value");
}

// HMAC-SHA256(kKey, 0x01 || 00 00 00 00 00 00 00 01 || "k" || "v"), from
// `openssl dgst -sha256 -mac HMAC`, so the format is pinned against an
// independent implementation.
TEST(CacheMacTest, TagIsHmacSha256OfVersionKeyLengthKeyAndValue) {
  const std::string sealed = *Mac().Seal("k", "v");
  std::string hex;
  for (size_t i = 1; i < CacheMac::kHeaderBytes; ++i) {
    absl::StrAppend(&hex, absl::Hex(static_cast<unsigned char>(sealed[i]),
                                    absl::kZeroPad2));
  }
  EXPECT_EQ(hex,
            "7d3f380366e7c46edd127e7ec4a013d5a14c4cd8c31998547dc7b3f674f8a805");
}

TEST(CacheMacTest, OpensBinaryAndEmptyValues) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  for (const std::string& value : {binary, std::string()}) {
    EXPECT_EQ(*Mac().Open("key", *Mac().Seal("key", value)), value);
  }
}

TEST(CacheMacTest, RefusesWhatWasNotSealedForThisKeyWithThisMac) {
  const CacheMac mac = Mac();
  const std::string sealed = *mac.Seal("thb:v1:a", "the-answer");
  auto refused = [&mac](const std::string& key, const std::string& text) {
    const absl::Status status = mac.Open(key, text).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_THAT(status.message(), Not(HasSubstr("the-answer")));
    return std::string(status.message());
  };
  EXPECT_THAT(refused("thb:v1:b", sealed), HasSubstr("MAC does not match"));
  EXPECT_THAT(refused("thb:v1:a", sealed.substr(0, sealed.size() - 1)),
              HasSubstr("MAC does not match"));
  EXPECT_THAT(refused("thb:v1:a", sealed + "x"),
              HasSubstr("MAC does not match"));
  EXPECT_THAT(refused("thb:v1:a", sealed.substr(0, CacheMac::kHeaderBytes - 1)),
              HasSubstr("shorter than the 33-byte header"));
  EXPECT_THAT(refused("thb:v1:a", "the-answer"), HasSubstr("shorter"));
  std::string version_two = sealed;
  version_two[0] = 2;
  EXPECT_THAT(refused("thb:v1:a", version_two),
              HasSubstr("format version 2, not 1"));
  // Another key's MAC.
  const std::string other =
      *Mac("fedcba9876543210fedcba9876543210").Seal("thb:v1:a", "the-answer");
  EXPECT_THAT(refused("thb:v1:a", other), HasSubstr("MAC does not match"));
  // The boundary between key and value is covered: the tag of "ab" + "c"
  // does not pass for "a" + "bc".
  const std::string header =
      mac.Seal("ab", "c")->substr(0, CacheMac::kHeaderBytes);
  EXPECT_THAT(refused("a", header + "bc"), HasSubstr("MAC does not match"));
}

TEST(CacheMacTest, AcceptsAKeyOf32BytesAndRefuses31) {
  EXPECT_TRUE(CacheMac::FromKey(std::string(32, 'k')).ok());
  const absl::Status status = CacheMac::FromKey(std::string(31, 'k')).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "cache HMAC key: 31 bytes, fewer than the 32 an HMAC-SHA256 key "
            "needs");
}

TEST(CacheMacTest, TheKeyFileIsItsBytesAsTheyAre) {
  // 31 bytes and a newline: 32 bytes, a valid key, newline included.
  const std::string with_newline = std::string(31, 'k') + "\n";
  const CacheMac from_file = *CacheMac::FromKeyFile(WriteFile(with_newline));
  EXPECT_EQ(*Mac(with_newline).Open("key", *from_file.Seal("key", "v")), "v");
  EXPECT_FALSE(
      Mac(std::string(32, 'k')).Open("key", *from_file.Seal("key", "v")).ok());
}

TEST(CacheMacTest, AShortKeyFileIsRefusedNamingTheFileNotTheKey) {
  const std::string path = WriteFile("short-secret-key");
  const absl::Status status = CacheMac::FromKeyFile(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            absl::StrCat("cache HMAC key file \"", path,
                         "\": cache HMAC key: 16 bytes, fewer than the 32 an "
                         "HMAC-SHA256 key needs"));
  EXPECT_THAT(status.message(), Not(HasSubstr("short-secret")));
}

TEST(CacheMacTest, AKeyFileAtTheSizeLimitIsReadAndOneByteMoreRefused) {
  EXPECT_TRUE(
      CacheMac::FromKeyFile(WriteFile(std::string(kMaxSecretFileBytes, 'k')))
          .ok());
  const absl::Status status =
      CacheMac::FromKeyFile(
          WriteFile(std::string(kMaxSecretFileBytes + 1, 'k')))
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("longer than 4096 bytes"));
}

}  // namespace
}  // namespace thb::aggregator
