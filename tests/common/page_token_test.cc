#include "common/page_token.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace thb {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

constexpr uint64_t kFilters = 0x0123456789abcdefu;

void ExpectRefusedToken(const absl::StatusOr<std::string>& result) {
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldViolations(result.status()),
              ElementsAre(Field(&FieldViolation::field, "page_token")));
}

TEST(PageTokenTest, RoundTrip) {
  for (const std::string& key : std::vector<std::string>{
           "EL", "", "org|with|bars", "ünïcode", std::string("\0\xff", 2)}) {
    const std::string token = EncodePageToken(key, kFilters);
    EXPECT_FALSE(token.empty());
    absl::StatusOr<std::string> decoded = DecodePageToken(token, kFilters);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, key);
  }
}

TEST(PageTokenTest, TokenIsUrlSafe) {
  const std::string token =
      EncodePageToken(std::string(300, '\xfb') + "?&/+=", kFilters);
  EXPECT_EQ(token.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789-_"),
            std::string::npos);
}

TEST(PageTokenTest, EmptyTokenIsTheFirstPage) {
  absl::StatusOr<std::string> decoded = DecodePageToken("", kFilters);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "");
}

TEST(PageTokenTest, OtherFiltersAreRefused) {
  const std::string token = EncodePageToken("EL", kFilters);
  absl::StatusOr<std::string> decoded = DecodePageToken(token, kFilters + 1);
  ExpectRefusedToken(decoded);
  EXPECT_THAT(std::string(decoded.status().message()),
              HasSubstr("other filters"));
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr(token));
}

TEST(PageTokenTest, GarbageIsRefused) {
  for (const char* token : {"x", "not a token", "!!!!", "AAAA", "ZW1wdHk"}) {
    ExpectRefusedToken(DecodePageToken(token, kFilters));
  }
}

TEST(PageTokenTest, TamperedTokenIsRefused) {
  std::string decoded_body;
  const std::string token = EncodePageToken("DE", kFilters);
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &decoded_body));
  // Change the key inside a well-formed token: the checksum catches it.
  std::string tampered_body = decoded_body;
  tampered_body[17] = 'F';
  ExpectRefusedToken(
      DecodePageToken(absl::WebSafeBase64Escape(tampered_body), kFilters));
  // Cut short.
  ExpectRefusedToken(
      DecodePageToken(token.substr(0, token.size() - 3), kFilters));
  // One character flipped.
  std::string flipped = token;
  flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
  ExpectRefusedToken(DecodePageToken(flipped, kFilters));
}

TEST(PageTokenTest, LongTokenIsCutInTheMessage) {
  const std::string token(5000, 'A');
  absl::StatusOr<std::string> decoded = DecodePageToken(token, kFilters);
  ExpectRefusedToken(decoded);
  EXPECT_LT(decoded.status().message().size(), 300u);
}

TEST(PageSizeTest, DefaultsAndCaps) {
  EXPECT_EQ(*EffectivePageSize(0, 50, 1000), 50);
  EXPECT_EQ(*EffectivePageSize(7, 50, 1000), 7);
  EXPECT_EQ(*EffectivePageSize(1000, 50, 1000), 1000);
  EXPECT_EQ(*EffectivePageSize(5000, 50, 1000), 1000);
}

TEST(PageSizeTest, NegativeIsRefusedNamingTheValue) {
  absl::StatusOr<int> size = EffectivePageSize(-3, 50, 1000);
  EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldViolations(size.status()),
              ElementsAre(Field(&FieldViolation::field, "page_size")));
  EXPECT_THAT(std::string(size.status().message()),
              HasSubstr("page_size: -3 is negative"));
}

}  // namespace
}  // namespace thb
