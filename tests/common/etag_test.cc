#include "common/etag.h"

#include <string>

#include "common/errors.h"
#include "gtest/gtest.h"

namespace thb {
namespace {

TEST(MakeEtagTest, TheFormIsPinned) {
  // Stored resources and clients hold etags of this form: a change would
  // refuse every conditional write that follows an upgrade.
  EXPECT_EQ(MakeEtag("record", "r0123456789abcdef", 42), "38e4e624f92a5695");
  EXPECT_EQ(MakeEtag("1", "EL", 1), "565f16fa293fedbb");
}

TEST(MakeEtagTest, EachPartChangesTheEtag) {
  const std::string etag = MakeEtag("1", "SAHEL", 7);
  EXPECT_EQ(etag.size(), 16u);
  EXPECT_EQ(MakeEtag("1", "SAHEL", 7), etag);
  EXPECT_NE(MakeEtag("2", "SAHEL", 7), etag);
  EXPECT_NE(MakeEtag("1", "SAHEM", 7), etag);
  EXPECT_NE(MakeEtag("1", "SAHEL", 8), etag);
}

TEST(CheckEtagTest, AnEmptyOrCurrentEtagPasses) {
  EXPECT_TRUE(CheckEtag("region", "SAHEL", "", "00000000000000aa").ok());
  EXPECT_TRUE(
      CheckEtag("region", "SAHEL", "00000000000000aa", "00000000000000aa")
          .ok());
}

TEST(CheckEtagTest, AnotherEtagIsAbortedNamingBoth) {
  const absl::Status status =
      CheckEtag("region", "SAHEL", "00000000000000bb", "00000000000000aa");
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ErrorReason(status), "ETAG_MISMATCH");
  // The same error as EtagMismatch (payloads compared apart from the
  // message: the order of their map entries is not fixed).
  const absl::Status expected =
      EtagMismatch("region", "SAHEL", "00000000000000bb", "00000000000000aa");
  EXPECT_EQ(status.code(), expected.code());
  EXPECT_EQ(status.message(), expected.message());
}

}  // namespace
}  // namespace thb
