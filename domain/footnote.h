#ifndef THB_DOMAIN_FOOTNOTE_H_
#define THB_DOMAIN_FOOTNOTE_H_

#include <functional>
#include <string>
#include <vector>

#include "thb/registry/v1/registry.pb.h"

namespace thb::domain {

// A country's EMN status on the date an answer is judged at.
using StatusOf =
    std::function<registry::v1::EmnStatus(const std::string& code)>;

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

}  // namespace thb::domain

#endif  // THB_DOMAIN_FOOTNOTE_H_
