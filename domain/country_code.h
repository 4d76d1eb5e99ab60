#ifndef THB_DOMAIN_COUNTRY_CODE_H_
#define THB_DOMAIN_COUNTRY_CODE_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"

namespace thb::domain {

// Country codes follow the EU's convention: ISO 3166-1 alpha-2, except EL
// for Greece and UK for the United Kingdom. The ISO codes stay usable as
// aliases of the EU's.

// Alias → canonical code ("GR" → "EL"), both in upper case.
using CountryAliases = absl::flat_hash_map<std::string, std::string>;

// The aliases of the convention itself: the ISO codes the EU does not use.
const CountryAliases& EuAliases();

// The canonical code for an ISO alpha-2 code ("GR" → "EL"); any other code
// as it is.
std::string EuCodeFromIso(std::string_view iso_alpha2);

// The one rule for reading a country code: `code` in upper case when
// `is_code` says a country has it as its code, else the code the alias names
// in `aliases`, else nothing. An exact code wins over an alias: a registry
// stored before aliases were checked for conflicts may still map another
// country's code to a newcomer, which must not take that code over.
std::optional<std::string> CanonicalCountry(
    std::string_view code, absl::FunctionRef<bool(const std::string&)> is_code,
    const CountryAliases& aliases);

// CanonicalCountry without a registry at hand: every code that is not one of
// EuAliases() is taken for a country's code, so "gr" gives "EL" and "de"
// gives "DE".
std::string CanonicalCountryCode(std::string_view code);

}  // namespace thb::domain

#endif  // THB_DOMAIN_COUNTRY_CODE_H_
