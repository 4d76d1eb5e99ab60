#ifndef THB_DOMAIN_FOOTNOTE_H_
#define THB_DOMAIN_FOOTNOTE_H_

#include <cstddef>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "thb/registry/v1/registry.pb.h"

namespace thb::domain {

// A country's EMN status on the date an answer is judged at.
using StatusOf =
    std::function<registry::v1::EmnStatus(const std::string& code)>;

// A country's group in study order: 0 for Members, 1 for Observers, 2 for
// everyone else.
int StudyRank(registry::v1::EmnStatus status);

// A list of countries as the study prints it in a footnote: the Members by
// code, then ", and " and the Observers by code, then a full stop:
//   {AT, BG, DE, EL, FR, HU, LT, NL, PL} + {GE, RS}
//     → "AT, BG, DE, EL, FR, HU, LT, NL, PL, and GE, RS."
//   {BE, BG, CY, DE, EE, FR, NL, PL, SE} → "BE, BG, CY, DE, EE, FR, NL, PL,
//   SE."
// The "and" joins the two groups, so a list with one group has none: only
// Observers gives "GE, RS." (the study never prints such a list). No
// countries gives "". Duplicates are printed once.
std::string Footnote(std::vector<std::string> members,
                     std::vector<std::string> observers);

// `codes` in study order, without duplicates: Members by code, then
// Observers by code, then everyone else (third countries) by code.
std::vector<std::string> CountryOrder(std::vector<std::string> codes,
                                      const StatusOf& status_of);

// The footnote of `codes` whatever their statuses: as Footnote, with any
// country that is neither Member nor Observer after the Observers (a third
// country has no place in the study's lists, but is not dropped from one).
std::string StudyFootnote(std::vector<std::string> codes,
                          const StatusOf& status_of);

// The footnote of `count` countries already in study order, the first
// `members` of them Members, `code(i)` giving the i-th code: StudyFootnote
// for a caller that has ordered and judged them already, so that nothing is
// sorted or judged twice and the text is written in one allocation.
template <typename Code>
std::string OrderedFootnote(size_t count, size_t members, const Code& code) {
  if (count == 0) return "";
  constexpr std::string_view kComma = ", ";
  constexpr std::string_view kAnd = ", and ";
  const bool two_groups = members > 0 && members < count;
  size_t size = 2 * (count - 1) + 1 + (two_groups ? kAnd.size() - 2 : 0);
  for (size_t i = 0; i < count; ++i) size += code(i).size();
  // Sized once and filled in place: appending piece by piece costs more
  // than the rest of a small answer.
  std::string text(size, '.');
  char* out = text.data();
  auto put = [&out](std::string_view piece) {
    std::memcpy(out, piece.data(), piece.size());
    out += piece.size();
  };
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) put(two_groups && i == members ? kAnd : kComma);
    put(code(i));
  }
  return text;  // Ends with the full stop it was filled with.
}

}  // namespace thb::domain

#endif  // THB_DOMAIN_FOOTNOTE_H_
