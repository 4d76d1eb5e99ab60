#include "domain/country_code.h"

#include <optional>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace thb::domain {
namespace {

TEST(EuCodeFromIsoTest, GivesTheEuCodesForGreeceAndTheUnitedKingdom) {
  EXPECT_EQ(EuCodeFromIso("GR"), "EL");
  EXPECT_EQ(EuCodeFromIso("GB"), "UK");
  EXPECT_EQ(EuCodeFromIso("FR"), "FR");
  EXPECT_EQ(EuCodeFromIso("EL"), "EL");
}

TEST(EuCodeFromIsoTest, ReadsIsoCodesAsWrittenInUpperCase) {
  EXPECT_EQ(EuCodeFromIso("gr"), "gr");
}

TEST(CanonicalCountryCodeTest, UsesTheEuCodes) {
  EXPECT_EQ(CanonicalCountryCode("GR"), "EL");
  EXPECT_EQ(CanonicalCountryCode("gb"), "UK");
  EXPECT_EQ(CanonicalCountryCode("de"), "DE");
  EXPECT_EQ(CanonicalCountryCode("EL"), "EL");
}

TEST(CanonicalCountryCodeTest, KeepsWhatIsNoCountryCodeInUpperCase) {
  EXPECT_EQ(CanonicalCountryCode("xa"), "XA");
  EXPECT_EQ(CanonicalCountryCode(""), "");
}

// A registry's countries: FR, EL and XA, with GR an alias of EL and, as a
// registry stored before aliases were checked could hold, FR an alias of XA.
class CanonicalCountryTest : public ::testing::Test {
 protected:
  std::optional<std::string> Resolve(const std::string& code) const {
    return CanonicalCountry(
        code, [this](const std::string& c) { return codes_.count(c) != 0; },
        aliases_);
  }

  std::set<std::string> codes_ = {"FR", "EL", "XA"};
  CountryAliases aliases_ = {{"GR", "EL"}, {"FR", "XA"}};
};

TEST_F(CanonicalCountryTest, FindsACodeInAnyCase) {
  EXPECT_EQ(Resolve("EL"), "EL");
  EXPECT_EQ(Resolve("el"), "EL");
  EXPECT_EQ(Resolve("xA"), "XA");
}

TEST_F(CanonicalCountryTest, FindsTheCodeAnAliasNamesInAnyCase) {
  EXPECT_EQ(Resolve("GR"), "EL");
  EXPECT_EQ(Resolve("gr"), "EL");
}

TEST_F(CanonicalCountryTest, TakesAnExactCodeBeforeAnAlias) {
  EXPECT_EQ(Resolve("FR"), "FR");
  EXPECT_EQ(Resolve("fr"), "FR");
}

TEST_F(CanonicalCountryTest, FindsNothingForAnUnknownCode) {
  EXPECT_EQ(Resolve("QQ"), std::nullopt);
  EXPECT_EQ(Resolve("GB"), std::nullopt);
  EXPECT_EQ(Resolve(""), std::nullopt);
}

TEST_F(CanonicalCountryTest, AsksForTheCodeInUpperCase) {
  std::set<std::string> asked;
  CanonicalCountry(
      "dE",
      [&asked](const std::string& c) {
        asked.insert(c);
        return false;
      },
      aliases_);
  EXPECT_EQ(asked, std::set<std::string>{"DE"});
}

}  // namespace
}  // namespace thb::domain
