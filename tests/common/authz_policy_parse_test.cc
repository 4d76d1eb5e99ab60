// Reading policies: what is refused and where, the bounds, and files.

#include <fstream>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/authz_policy.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/authz_policy_test_helpers.h"

namespace thb {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::thb::testing::HeaderRule;
using ::thb::testing::kAdmin;
using ::thb::testing::kListAuditEvents;
using ::thb::testing::kThbPolicy;
using ::thb::testing::OneRule;
using ::thb::testing::Request;

// The policy is refused, naming `field` (the JSON path) both in the message
// and as the one field violation, for a reason that says `reason`.
void ExpectRefused(std::string_view json, const std::string& field,
                   std::string_view reason) {
  SCOPED_TRACE(json);
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(json);
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(policy.status().message()), StartsWith(field + ": "));
  EXPECT_THAT(std::string(policy.status().message()),
              HasSubstr(std::string(reason)));
  EXPECT_THAT(FieldViolations(policy.status()),
              ElementsAre(Field(&FieldViolation::field, field)));
}

// --- Invalid policies --------------------------------------------------------

TEST(AuthzPolicyParseTest, RefusesWhatIsNotAJsonObject) {
  ExpectRefused(R"({"name": "p",, "allow_rules": []})", "policy",
                "not valid JSON");
  ExpectRefused("", "policy", "not valid JSON");
  ExpectRefused(R"([{"name": "p"}])", "policy",
                "must be a JSON object, not an array");
  ExpectRefused("null", "policy", "must be a JSON object, not null");
}

TEST(AuthzPolicyParseTest, RefusesDuplicateKeys) {
  ExpectRefused(R"({"name": "p", "allow_rules": [{"name": "r"}],
                    "allow_rules": [{"name": "s"}]})",
                "policy", "not valid JSON");
  ExpectRefused(OneRule(R"("source": {"principals": ["a"]},
                           "source": {"principals": ["b"]})"),
                "policy", "not valid JSON");
}

TEST(AuthzPolicyParseTest, RefusesInvalidUtf8) {
  ExpectRefused(OneRule("\"source\": {\"principals\": [\"\xff\"]}"), "policy",
                "not valid JSON");
}

TEST(AuthzPolicyParseTest, RefusesAPolicyWithoutAStringName) {
  ExpectRefused(R"({"allow_rules": [{"name": "r"}]})", "name", "is required");
  ExpectRefused(R"({"name": ["p"], "allow_rules": [{"name": "r"}]})", "name",
                "must be a string, not an array");
  ExpectRefused(R"({"name": 7, "allow_rules": [{"name": "r"}]})", "name",
                "must be a string, not a number");
}

TEST(AuthzPolicyParseTest, RefusesAPolicyWithoutAllowRules) {
  ExpectRefused(R"({"name": "p"})", "allow_rules", "is required");
  ExpectRefused(R"({"name": "p", "deny_rules": [{"name": "d"}]})",
                "allow_rules", "is required");
  ExpectRefused(R"({"name": "p", "allow_rules": {}})", "allow_rules",
                "must be an array, not an object");
  ExpectRefused(R"({"name": "p", "allow_rules": []})", "allow_rules",
                "must not be empty");
}

TEST(AuthzPolicyParseTest, RefusesDenyRulesThatAreNotAList) {
  ExpectRefused(R"({"name": "p", "deny_rules": 123,
                    "allow_rules": [{"name": "r"}]})",
                "deny_rules", "must be an array, not a number");
  ExpectRefused(R"({"name": "p", "deny_rules": [],
                    "allow_rules": [{"name": "r"}]})",
                "deny_rules", "must not be empty");
}

TEST(AuthzPolicyParseTest, RefusesARuleWithoutAName) {
  ExpectRefused(R"({"name": "p", "allow_rules": ["rule-a"]})", "allow_rules[0]",
                "must be an object, not a string");
  ExpectRefused(R"({"name": "p", "allow_rules": [{"name": "a"}, {}]})",
                "allow_rules[1].name", "is required");
  ExpectRefused(R"({"name": "p", "allow_rules": [{"name": 123}]})",
                "allow_rules[0].name", "must be a string, not a number");
  ExpectRefused(R"({"name": "p", "allow_rules": [{"name": ""}]})",
                "allow_rules[0].name", "must not be empty");
  ExpectRefused(R"({"name": "p", "deny_rules": [{"source": {}}],
                    "allow_rules": [{"name": "r"}]})",
                "deny_rules[0].name", "is required");
}

TEST(AuthzPolicyParseTest, RefusesTwoRulesOfOneListWithTheSameName) {
  ExpectRefused(
      R"({"name": "p", "allow_rules": [{"name": "a"}, {"name": "b"},
                                       {"name": "a"}]})",
      "allow_rules[2].name", "\"a\" is already the name of allow_rules[0]");
}

TEST(AuthzPolicyParseTest, RefusesSourceAndRequestOfTheWrongType) {
  ExpectRefused(OneRule(R"("source": 111)"), "allow_rules[0].source",
                "must be an object, not a number");
  ExpectRefused(OneRule(R"("source": {"principals": "x"})"),
                "allow_rules[0].source.principals",
                "must be an array, not a string");
  ExpectRefused(OneRule(R"("source": {"principals": ["*", 123]})"),
                "allow_rules[0].source.principals[1]",
                "must be a string, not a number");
  ExpectRefused(OneRule(R"("request": 111)"), "allow_rules[0].request",
                "must be an object, not a number");
  ExpectRefused(OneRule(R"("request": {"paths": ["path-a", true]})"),
                "allow_rules[0].request.paths[1]",
                "must be a string, not a boolean");
  ExpectRefused(OneRule(R"("request": {"headers": {}})"),
                "allow_rules[0].request.headers",
                "must be an array, not an object");
  ExpectRefused(OneRule(R"("request": {"headers": [null]})"),
                "allow_rules[0].request.headers[0]",
                "must be an object, not null");
}

TEST(AuthzPolicyParseTest, RefusesHeaderEntriesWithoutKeyOrValues) {
  const std::string headers = "allow_rules[0].request.headers[0]";
  ExpectRefused(OneRule(R"("request": {"headers": [{"values": ["v"]}]})"),
                headers + ".key", "is required");
  ExpectRefused(HeaderRule("", R"(["v"])"), headers + ".key",
                "must not be empty");
  ExpectRefused(
      OneRule(R"("request": {"headers": [{"key": 1, "values": ["v"]}]})"),
      headers + ".key", "must be a string, not a number");
  ExpectRefused(OneRule(R"("request": {"headers": [{"key": "x-a"}]})"),
                headers + ".values", "is required");
  ExpectRefused(HeaderRule("x-a", R"("v")"), headers + ".values",
                "must be an array, not a string");
  ExpectRefused(HeaderRule("x-a", "[]"), headers + ".values",
                "must not be empty");
  ExpectRefused(HeaderRule("x-a", R"(["v", 2])"), headers + ".values[1]",
                "must be a string, not a number");
}

TEST(AuthzPolicyParseTest, RefusesHeaderKeysGrpcRefuses) {
  for (const char* key :
       {":path", ":authority", "grpc-timeout", "grpc-foo", "GRPC-Foo", "host",
        "Host", "connection", "keep-alive", "proxy-authenticate",
        "proxy-authorization", "te", "TE", "trailer", "transfer-encoding",
        "upgrade"}) {
    ExpectRefused(HeaderRule(key, R"(["v"])"),
                  "allow_rules[0].request.headers[0].key",
                  absl::StrCat("\"", key, "\" cannot be matched"));
  }
  // Near misses are ordinary headers.
  for (const char* key : {"x-grpc-foo", "grpc", "hosts", "tea", "authorization",
                          "content-type", "user-agent"}) {
    EXPECT_TRUE(AuthzPolicy::Parse(HeaderRule(key, R"(["v"])")).ok()) << key;
  }
}

TEST(AuthzPolicyParseTest, RefusesUnknownFieldsNamingThem) {
  ExpectRefused(R"({"name": "p", "allow_rules": [{"name": "r"}], "zeta": 1,
                    "alpha": 2})",
                "alpha", "unknown field");
  ExpectRefused(OneRule(R"("sources": {})"), "allow_rules[0].sources",
                "unknown field (known here: name, source, request)");
  ExpectRefused(OneRule(R"("source": {"principal": ["x"]})"),
                "allow_rules[0].source.principal", "unknown field");
  ExpectRefused(OneRule(R"("request": {"path": ["/a/b"]})"),
                "allow_rules[0].request.path", "unknown field");
  ExpectRefused(OneRule(R"("request": {"headers": [
                    {"key": "x-a", "values": ["v"], "value": "v"}]})"),
                "allow_rules[0].request.headers[0].value", "unknown field");
}

TEST(AuthzPolicyParseTest, RefusesAuditLoggingOptions) {
  ExpectRefused(R"({"name": "p", "allow_rules": [{"name": "r"}],
                    "audit_logging_options": {"audit_condition": "ON_DENY"}})",
                "audit_logging_options", "not supported");
}

// --- Bounds
// -------------------------------------------------------------------

TEST(AuthzPolicyBoundsTest, PolicyOfAtMostTheByteLimit) {
  const std::string policy = OneRule("");
  const std::string at_limit =
      policy + std::string(kMaxAuthzPolicyBytes - policy.size(), ' ');
  ASSERT_EQ(at_limit.size(), kMaxAuthzPolicyBytes);
  EXPECT_TRUE(AuthzPolicy::Parse(at_limit).ok());
  ExpectRefused(at_limit + " ", "policy",
                absl::StrCat(kMaxAuthzPolicyBytes + 1, " bytes, at most ",
                             kMaxAuthzPolicyBytes));
}

TEST(AuthzPolicyBoundsTest, AtMostTheDepthLimit) {
  // The deepest the format goes.
  const std::string deepest = HeaderRule("x-a", R"(["v"])");
  ASSERT_EQ(kMaxAuthzJsonDepth, 7u);
  EXPECT_TRUE(AuthzPolicy::Parse(deepest).ok());
  const std::string reason = absl::StrCat("arrays and objects nest more than ",
                                          kMaxAuthzJsonDepth, " deep");
  ExpectRefused(HeaderRule("x-a", R"([["v"]])"), "policy", reason);
  // Brackets inside strings do not count.
  EXPECT_TRUE(
      AuthzPolicy::Parse(HeaderRule("x-a", R"(["[[{{\"[[", "\\"])")).ok());
  // A document of nothing but brackets, refused before the JSON parser
  // spends time on it.
  const size_t depth = kMaxAuthzPolicyBytes / 2;
  ExpectRefused(std::string(depth, '[') + std::string(depth, ']'), "policy",
                reason);
}

// A policy of one deny rule and `allow` allow rules.
std::string PolicyWithRules(size_t allow) {
  std::vector<std::string> rules;
  for (size_t i = 0; i < allow; ++i) {
    rules.push_back(absl::StrCat(R"({"name": "r)", i, R"("})"));
  }
  return absl::StrCat(
      R"({"name": "p", "deny_rules": [{"name": "d", "source": {"principals": ["m"]}}],)",
      R"("allow_rules": [)", absl::StrJoin(rules, ","), "]}");
}

TEST(AuthzPolicyBoundsTest, AtMostTheRuleLimitInBothListsTogether) {
  absl::StatusOr<AuthzPolicy> at_limit =
      AuthzPolicy::Parse(PolicyWithRules(kMaxAuthzRules - 1));
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_EQ(at_limit->deny_rule_count() + at_limit->allow_rule_count(),
            kMaxAuthzRules);
  ExpectRefused(PolicyWithRules(kMaxAuthzRules),
                absl::StrCat("allow_rules[", kMaxAuthzRules - 1, "]"),
                absl::StrCat("more than ", kMaxAuthzRules, " rules"));
}

// `count` quoted strings "<stem>0", "<stem>1", ... as a JSON array body.
std::string Strings(absl::string_view stem, size_t count) {
  std::vector<std::string> items;
  for (size_t i = 0; i < count; ++i) {
    items.push_back(absl::StrCat("\"", stem, i, "\""));
  }
  return absl::StrJoin(items, ",");
}

TEST(AuthzPolicyBoundsTest, AtMostTheMatcherLimitInOneRule) {
  const size_t third = kMaxAuthzMatchersPerRule / 3;
  const size_t rest = kMaxAuthzMatchersPerRule - 2 * third;
  const auto rule = [&](size_t values) {
    return OneRule(absl::StrCat(
        R"("source": {"principals": [)", Strings("p", third), "]}, ",
        R"("request": {"headers": [{"key": "x-a", "values": [)",
        Strings("v", values), "]}], ", R"("paths": [)", Strings("/a/", third),
        "]}"));
  };
  absl::StatusOr<AuthzPolicy> at_limit = AuthzPolicy::Parse(rule(rest));
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_TRUE(at_limit
                  ->Evaluate(Request(absl::StrCat("p", third - 1),
                                     absl::StrCat("/a/", third - 1),
                                     {{"x-a", absl::StrCat("v", rest - 1)}}))
                  .allowed);
  // Principals, then paths, then headers: the header value is one too many.
  ExpectRefused(
      rule(rest + 1),
      absl::StrCat("allow_rules[0].request.headers[0].values[", rest, "]"),
      absl::StrCat("more than ", kMaxAuthzMatchersPerRule,
                   " principals, paths and header values in one rule"));
  // Each rule has its own allowance.
  const std::string paths = Strings("/a/", kMaxAuthzMatchersPerRule);
  EXPECT_TRUE(
      AuthzPolicy::Parse(absl::StrCat(R"({"name": "p", "allow_rules": [)",
                                      R"({"name": "a", "request": {"paths": [)",
                                      paths, "]}},",
                                      R"({"name": "b", "request": {"paths": [)",
                                      paths, "]}}]}"))
          .ok());
}

TEST(AuthzPolicyBoundsTest, AtMostTheStringLimitInAnyString) {
  const std::string at_limit(kMaxAuthzStringBytes, 'x');
  const std::string over(kMaxAuthzStringBytes + 1, 'x');
  const std::string over_reason = absl::StrCat(
      kMaxAuthzStringBytes + 1, " bytes, at most ", kMaxAuthzStringBytes);
  const auto policy_named = [](absl::string_view name) {
    return absl::StrCat(R"({"name": ")", name,
                        R"(", "allow_rules": [{"name": "r"}]})");
  };
  const auto principal_rule = [](absl::string_view principal) {
    return OneRule(
        absl::StrCat(R"("source": {"principals": [")", principal, R"("]})"));
  };
  absl::StatusOr<AuthzPolicy> named =
      AuthzPolicy::Parse(policy_named(at_limit));
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->name(), at_limit);
  absl::StatusOr<AuthzPolicy> principal =
      AuthzPolicy::Parse(principal_rule(at_limit));
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_TRUE(principal->Evaluate(Request(at_limit, "/a/b")).allowed);

  ExpectRefused(policy_named(over), "name", over_reason);
  ExpectRefused(principal_rule(over), "allow_rules[0].source.principals[0]",
                over_reason);
  ExpectRefused(HeaderRule("x-a", absl::StrCat(R"([")", over, R"("])")),
                "allow_rules[0].request.headers[0].values[0]", over_reason);
  ExpectRefused(HeaderRule(over, R"(["v"])"),
                "allow_rules[0].request.headers[0].key", over_reason);
}

// --- Files -------------------------------------------------------------------

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  return path;
}

TEST(AuthzPolicyFileTest, ReadsAPolicyFile) {
  absl::StatusOr<AuthzPolicy> policy =
      AuthzPolicy::FromFile(WriteFile("authz_thb.json", kThbPolicy));
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->name(), "thb");
  EXPECT_TRUE(policy->Evaluate(Request(kAdmin, kListAuditEvents)).allowed);
}

TEST(AuthzPolicyFileTest, RefusesAFileOverTheByteLimit) {
  const std::string path =
      WriteFile("authz_big.json",
                OneRule("") + std::string(2 * kMaxAuthzPolicyBytes, ' '));
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::FromFile(path);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(policy.status().message()),
      StartsWith(absl::StrCat("policy: ", kMaxAuthzPolicyBytes + 1, " bytes")));
}

TEST(AuthzPolicyFileTest, MissingFileIsAFailedPreconditionNamingIt) {
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/authz_no_such_file.json");
  std::remove(path.c_str());
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::FromFile(path);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr(path));
}

TEST(AuthzPolicyFileTest, DirectoryIsAFailedPrecondition) {
  absl::StatusOr<AuthzPolicy> policy =
      AuthzPolicy::FromFile(::testing::TempDir());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace thb
