#include "domain/country_code.h"

#include "absl/strings/ascii.h"
#include "common/string_view.h"

namespace thb::domain {

const CountryAliases& EuAliases() {
  static const auto* aliases = new CountryAliases{{"GR", "EL"}, {"GB", "UK"}};
  return *aliases;
}

std::string EuCodeFromIso(std::string_view iso_alpha2) {
  const std::string code(iso_alpha2);
  auto alias = EuAliases().find(code);
  return alias == EuAliases().end() ? code : alias->second;
}

std::optional<std::string> CanonicalCountry(
    std::string_view code, absl::FunctionRef<bool(const std::string&)> is_code,
    const CountryAliases& aliases) {
  std::string upper = absl::AsciiStrToUpper(ToAbsl(code));
  if (is_code(upper)) return upper;
  if (auto alias = aliases.find(upper); alias != aliases.end()) {
    return alias->second;
  }
  return std::nullopt;
}

std::string CanonicalCountryCode(std::string_view code) {
  // Never empty: a code that is not an alias is a code.
  return *CanonicalCountry(
      code,
      [](const std::string& upper) { return !EuAliases().contains(upper); },
      EuAliases());
}

}  // namespace thb::domain
