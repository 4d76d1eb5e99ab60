#include "domain/footnote.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace thb::domain {
namespace {

using registry::v1::EmnStatus;
using ::testing::ElementsAre;

TEST(FootnoteTest, PrintsMembersThenObserversAfterAnd) {
  // Footnote 15 of the press release.
  EXPECT_EQ(Footnote({"PL", "AT", "NL", "BG", "LT", "DE", "HU", "EL", "FR"},
                     {"RS", "GE"}),
            "AT, BG, DE, EL, FR, HU, LT, NL, PL, and GE, RS.");
  // Footnote 30: two Members and one Observer.
  EXPECT_EQ(Footnote({"EL", "DE"}, {"RS"}), "DE, EL, and RS.");
  // Footnote 7: one Observer.
  EXPECT_EQ(
      Footnote({"BE", "DE", "EE", "ES", "FI", "FR", "IT", "LV", "NL", "SI"},
               {"GE"}),
      "BE, DE, EE, ES, FI, FR, IT, LV, NL, SI, and GE.");
}

TEST(FootnoteTest, PrintsMembersOnlyWithoutAnd) {
  // Footnote 11 of the press release.
  EXPECT_EQ(
      Footnote({"SE", "BE", "BG", "CY", "DE", "EE", "FR", "NL", "PL"}, {}),
      "BE, BG, CY, DE, EE, FR, NL, PL, SE.");
  EXPECT_EQ(Footnote({"FR"}, {}), "FR.");
}

TEST(FootnoteTest, PrintsObserversOnlyWithoutAnd) {
  // The "and" joins the two groups; with one group there is nothing to join.
  EXPECT_EQ(Footnote({}, {"RS", "GE"}), "GE, RS.");
  EXPECT_EQ(Footnote({}, {"GE"}), "GE.");
}

TEST(FootnoteTest, OneMemberAndObservers) {
  EXPECT_EQ(Footnote({"FR"}, {"GE"}), "FR, and GE.");
}

TEST(FootnoteTest, EmptyIsEmpty) { EXPECT_EQ(Footnote({}, {}), ""); }

TEST(FootnoteTest, PrintsADuplicateOnce) {
  EXPECT_EQ(Footnote({"FR", "AT", "FR"}, {"GE", "GE"}), "AT, FR, and GE.");
}

// Statuses on the study's date.
EmnStatus StudyStatus(const std::string& code) {
  static const auto* statuses = new std::map<std::string, EmnStatus>{
      {"AT", registry::v1::EMN_STATUS_MEMBER},
      {"EL", registry::v1::EMN_STATUS_MEMBER},
      {"SI", registry::v1::EMN_STATUS_MEMBER},
      {"GE", registry::v1::EMN_STATUS_OBSERVER},
      {"RS", registry::v1::EMN_STATUS_OBSERVER},
  };
  auto it = statuses->find(code);
  return it == statuses->end() ? registry::v1::EMN_STATUS_NONE : it->second;
}

TEST(CountryOrderTest, MembersThenObserversThenThirdCountries) {
  EXPECT_THAT(CountryOrder({"TN", "RS", "SI", "EG", "GE", "AT", "EL", "SI"},
                           StudyStatus),
              ElementsAre("AT", "EL", "SI", "GE", "RS", "EG", "TN"));
  EXPECT_THAT(CountryOrder({}, StudyStatus), ElementsAre());
}

TEST(StudyFootnoteTest, SplitsByStatus) {
  EXPECT_EQ(StudyFootnote({"RS", "SI", "FR"},
                          [](const std::string& code) {
                            return code == "RS"
                                       ? registry::v1::EMN_STATUS_OBSERVER
                                       : registry::v1::EMN_STATUS_MEMBER;
                          }),
            "FR, SI, and RS.");
  EXPECT_EQ(StudyFootnote({"SI", "AT"}, StudyStatus), "AT, SI.");
  EXPECT_EQ(StudyFootnote({}, StudyStatus), "");
}

TEST(StudyFootnoteTest, KeepsAThirdCountryAfterTheObservers) {
  EXPECT_EQ(StudyFootnote({"TN", "GE", "AT"}, StudyStatus), "AT, and GE, TN.");
}

}  // namespace
}  // namespace thb::domain
