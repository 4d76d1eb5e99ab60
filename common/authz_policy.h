#ifndef THB_COMMON_AUTHZ_POLICY_H_
#define THB_COMMON_AUTHZ_POLICY_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace thb {

// The gRPC authorization policy format (gRFC A43, the JSON that gRPC's
// FileWatcherAuthorizationPolicyProvider reads), evaluated by thb itself
// because Debian's gRPC does not ship the provider:
//
//   {"name": "thb",
//    "deny_rules":  [{"name": ..., "source": {...}, "request": {...}}],
//    "allow_rules": [...]}
//   source:  {"principals": ["spiffe://thb/admin/*", ...]}
//   request: {"paths": ["/pkg.Service/Method", ...],
//             "headers": [{"key": "x-tenant", "values": ["eu-*"]}]}
//
// A pattern is exact ("foo"), a prefix ("foo*"), a suffix ("*foo"), or "*":
// any non-empty value. A "*" anywhere else is a literal character.

// Bounds of a policy; a policy over any of them is INVALID_ARGUMENT.
// The whole JSON document.
inline constexpr size_t kMaxAuthzPolicyBytes = size_t{1} << 20;
// Arrays and objects inside one another; the format itself goes 7 deep
// (policy, allow_rules, rule, request, headers, header, values). Checked
// before protobuf's JSON parser, which spends seconds on 10,000 levels.
inline constexpr size_t kMaxAuthzJsonDepth = 7;
// deny_rules and allow_rules together.
inline constexpr size_t kMaxAuthzRules = 1000;
// Principals, paths and header values of one rule together.
inline constexpr size_t kMaxAuthzMatchersPerRule = 100;
// Any one name, pattern or header key, in bytes. A SPIFFE ID is at most 2048.
inline constexpr size_t kMaxAuthzStringBytes = 2048;

struct AuthzRequest {
  // The caller's authenticated principal; empty if none. "*" matches any
  // principal but the empty one, which only the pattern "" matches (A43: a
  // TLS caller without a client certificate).
  std::string_view principal;
  // "/thb.registry.v1.CountryRegistryService/GetCountry".
  std::string_view path;
  // Request headers, keys lower-case, a key may repeat. A header that
  // repeats is matched as its values joined by "," in this order, as gRPC
  // does.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

struct AuthzDecision {
  bool allowed = false;
  // The matching rule's name: the first matching deny rule if any (then
  // `allowed` is false), else the first matching allow rule, in the order of
  // the file. Empty when no rule matched (default deny).
  std::string rule;
};

class AuthzPolicy {
 public:
  // INVALID_ARGUMENT naming the JSON path of what is wrong
  // ("allow_rules[2].request.paths[0]: ..."); "policy" for the document as a
  // whole.
  static absl::StatusOr<AuthzPolicy> Parse(std::string_view json);

  // Parse of a file's contents. A file that cannot be read is
  // FAILED_PRECONDITION naming the path; one over kMaxAuthzPolicyBytes is
  // refused without reading all of it.
  static absl::StatusOr<AuthzPolicy> FromFile(const std::string& path);

  AuthzPolicy(const AuthzPolicy&);
  AuthzPolicy(AuthzPolicy&&) noexcept;
  AuthzPolicy& operator=(const AuthzPolicy&);
  AuthzPolicy& operator=(AuthzPolicy&&) noexcept;
  ~AuthzPolicy();

  // Runs on every call, so allocates nothing, save the copy of a matched
  // rule's name too long for std::string's inline buffer.
  AuthzDecision Evaluate(const AuthzRequest& request) const;

  const std::string& name() const { return name_; }
  size_t deny_rule_count() const;
  size_t allow_rule_count() const;

 private:
  friend class AuthzPolicyParser;
  struct Rule;

  AuthzPolicy();

  std::string name_;
  std::vector<Rule> deny_rules_;
  std::vector<Rule> allow_rules_;
};

}  // namespace thb

#endif  // THB_COMMON_AUTHZ_POLICY_H_
