// Deciding calls: the examples of gRFC A43, patterns, principals, headers,
// decisions, and the project's own policy.

#include "common/authz_policy.h"

#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/authz_policy_test_helpers.h"

// Counts the allocations of the thread that turned counting on, so a test
// can show that Evaluate allocates nothing.
namespace {
thread_local bool counting_allocations = false;
thread_local int allocations = 0;
}  // namespace

// GCC 12 takes free() on what this very operator new returned for a
// mismatch (a false positive of -Wmismatched-new-delete).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  if (counting_allocations) ++allocations;
  void* memory = std::malloc(size == 0 ? 1 : size);
  if (memory == nullptr) throw std::bad_alloc();
  return memory;
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
#pragma GCC diagnostic pop

namespace thb {
namespace {

using ::thb::testing::HeaderRule;
using ::thb::testing::Headers;
using ::thb::testing::kAdmin;
using ::thb::testing::kBreakdown;
using ::thb::testing::kCreateCountry;
using ::thb::testing::kCreateRecord;
using ::thb::testing::kEditor;
using ::thb::testing::kGetCountry;
using ::thb::testing::kListAuditEvents;
using ::thb::testing::kListRecords;
using ::thb::testing::kReader;
using ::thb::testing::kService;
using ::thb::testing::kThbPolicy;
using ::thb::testing::OneRule;
using ::thb::testing::Request;

AuthzPolicy MustParse(std::string_view json) {
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(json);
  EXPECT_TRUE(policy.ok()) << policy.status();
  if (!policy.ok()) std::abort();
  return *std::move(policy);
}

// --- The examples of gRFC A43 -------------------------------------------

constexpr char kA43Example[] = R"json({
  "name": "example-policy",
  "allow_rules": [
    {
      "name": "admin-access",
      "source": {
        "principals": ["spiffe://foo.com/sa/admin1",
                       "spiffe://foo.com/sa/admin2"]
      },
      "request": {"paths": ["/pkg.service/*"]}
    },
    {
      "name": "dev-access",
      "source": {"principals": ["*", ""]},
      "request": {
        "paths": ["/pkg.service/foo", "/pkg.service/bar"],
        "headers": [{"key": "dev-path", "values": ["/dev/path/*"]}]
      }
    }
  ],
  "deny_rules": [
    {"name": "deny-access", "request": {"paths": ["*/secret"]}}
  ]
})json";

TEST(AuthzPolicyTest, A43ExampleLetsAdminsCallAnyMethodOfTheService) {
  const AuthzPolicy policy = MustParse(kA43Example);
  EXPECT_EQ(policy.name(), "example-policy");
  EXPECT_EQ(policy.deny_rule_count(), 1u);
  EXPECT_EQ(policy.allow_rule_count(), 2u);
  for (const char* admin :
       {"spiffe://foo.com/sa/admin1", "spiffe://foo.com/sa/admin2"}) {
    const AuthzDecision decision =
        policy.Evaluate(Request(admin, "/pkg.service/anything"));
    EXPECT_TRUE(decision.allowed);
    EXPECT_EQ(decision.rule, "admin-access");
  }
  const AuthzDecision other_service = policy.Evaluate(
      Request("spiffe://foo.com/sa/admin1", "/pkg.other/anything"));
  EXPECT_FALSE(other_service.allowed);
  EXPECT_EQ(other_service.rule, "");
}

TEST(AuthzPolicyTest, A43ExampleDeniesSecretEvenToAdmins) {
  const AuthzPolicy policy = MustParse(kA43Example);
  const AuthzDecision decision = policy.Evaluate(
      Request("spiffe://foo.com/sa/admin1", "/pkg.service/secret"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "deny-access");
}

TEST(AuthzPolicyTest, A43ExampleLetsAnyoneWithTheDevHeaderCallFooAndBar) {
  const AuthzPolicy policy = MustParse(kA43Example);
  for (std::string_view principal : {"spiffe://foo.com/sa/dev", ""}) {
    const AuthzDecision decision = policy.Evaluate(
        Request(principal, "/pkg.service/bar", {{"dev-path", "/dev/path/x"}}));
    EXPECT_TRUE(decision.allowed) << principal;
    EXPECT_EQ(decision.rule, "dev-access");
  }
  EXPECT_FALSE(
      policy.Evaluate(Request("spiffe://foo.com/sa/dev", "/pkg.service/bar"))
          .allowed);
  EXPECT_FALSE(
      policy
          .Evaluate(Request("spiffe://foo.com/sa/dev", "/pkg.service/bar",
                            {{"dev-path", "/prod/path/x"}}))
          .allowed);
  EXPECT_FALSE(
      policy
          .Evaluate(Request("spiffe://foo.com/sa/dev", "/pkg.service/baz",
                            {{"dev-path", "/dev/path/x"}}))
          .allowed);
}

// --- Patterns --------------------------------------------------------------

TEST(AuthzPolicyTest, ExactPathMatchesOnlyItself) {
  const AuthzPolicy policy =
      MustParse(OneRule(R"("request": {"paths": ["/pkg.S/Get"]})"));
  EXPECT_TRUE(policy.Evaluate(Request("p", "/pkg.S/Get")).allowed);
  EXPECT_FALSE(policy.Evaluate(Request("p", "/pkg.S/GetMore")).allowed);
  EXPECT_FALSE(policy.Evaluate(Request("p", "/pkg.S/Ge")).allowed);
  EXPECT_FALSE(policy.Evaluate(Request("p", "/pkg.s/get")).allowed);
}

TEST(AuthzPolicyTest, PrefixPatternMatchesThePrefixItselfAndLonger) {
  const AuthzPolicy policy =
      MustParse(OneRule(R"("request": {"paths": ["/pkg.S/Get*"]})"));
  EXPECT_TRUE(policy.Evaluate(Request("p", "/pkg.S/Get")).allowed);
  EXPECT_TRUE(policy.Evaluate(Request("p", "/pkg.S/GetCountry")).allowed);
  EXPECT_FALSE(policy.Evaluate(Request("p", "/pkg.S/Ge")).allowed);
  EXPECT_FALSE(policy.Evaluate(Request("p", "/pkg.S/ListGet")).allowed);
}

TEST(AuthzPolicyTest, SuffixPatternMatchesTheSuffixItselfAndLonger) {
  const AuthzPolicy policy =
      MustParse(OneRule(R"("request": {"paths": ["*/Watch"]})"));
  EXPECT_TRUE(policy.Evaluate(Request("p", "/Watch")).allowed);
  EXPECT_TRUE(policy.Evaluate(Request("p", "/pkg.A/Watch")).allowed);
  EXPECT_FALSE(policy.Evaluate(Request("p", "/pkg.A/Watcher")).allowed);
}

TEST(AuthzPolicyTest, StarAloneMatchesAnyNonEmptyValue) {
  const AuthzPolicy policy =
      MustParse(OneRule(R"("request": {"paths": ["*"]})"));
  EXPECT_TRUE(policy.Evaluate(Request("p", "/pkg.A/B")).allowed);
  EXPECT_TRUE(policy.Evaluate(Request("p", "x")).allowed);
  EXPECT_FALSE(policy.Evaluate(Request("p", "")).allowed);
}

TEST(AuthzPolicyTest, StarInsideAPatternIsALiteralCharacter) {
  const AuthzPolicy policy =
      MustParse(OneRule(R"("source": {"principals": ["spiffe://abc.*.com"]})"));
  EXPECT_TRUE(policy.Evaluate(Request("spiffe://abc.*.com", "/a/b")).allowed);
  EXPECT_FALSE(
      policy.Evaluate(Request("spiffe://abc.foo.com", "/a/b")).allowed);
}

TEST(AuthzPolicyTest, LeadingStarWinsOverTrailingStar) {
  // As in gRPC: "*foo*" is the suffix "foo*", "**" the suffix "*".
  const AuthzPolicy policy =
      MustParse(OneRule(R"("request": {"paths": ["*foo*", "**"]})"));
  EXPECT_TRUE(policy.Evaluate(Request("p", "/a/foo*")).allowed);
  EXPECT_TRUE(policy.Evaluate(Request("p", "/a/b*")).allowed);
  EXPECT_FALSE(policy.Evaluate(Request("p", "/a/foobar")).allowed);
}

TEST(AuthzPolicyTest, AnyOnePrincipalOrPathOfARuleSuffices) {
  const AuthzPolicy policy = MustParse(OneRule(
      R"("source": {"principals": ["a", "b*", "*c"]},
         "request": {"paths": ["/x/1", "/y/*"]})"));
  for (std::string_view principal : {"a", "bob", "doc"}) {
    for (std::string_view path : {"/x/1", "/y/2"}) {
      EXPECT_TRUE(policy.Evaluate(Request(principal, path)).allowed)
          << principal << " " << path;
    }
  }
  EXPECT_FALSE(policy.Evaluate(Request("dan", "/x/1")).allowed);
  EXPECT_FALSE(policy.Evaluate(Request("a", "/x/2")).allowed);
}

// --- Principals ------------------------------------------------------------

TEST(AuthzPolicyTest, StarPrincipalMatchesAnyAuthenticatedCallerOnly) {
  const AuthzPolicy policy =
      MustParse(OneRule(R"("source": {"principals": ["*"]})"));
  EXPECT_TRUE(policy.Evaluate(Request("spiffe://thb/x", "/a/b")).allowed);
  EXPECT_FALSE(policy.Evaluate(Request("", "/a/b")).allowed);
}

TEST(AuthzPolicyTest, EmptyPrincipalPatternMatchesOnlyACallerWithoutOne) {
  const AuthzPolicy policy =
      MustParse(OneRule(R"("source": {"principals": [""]})"));
  EXPECT_TRUE(policy.Evaluate(Request("", "/a/b")).allowed);
  EXPECT_FALSE(policy.Evaluate(Request("spiffe://thb/x", "/a/b")).allowed);
}

TEST(AuthzPolicyTest, RuleWithoutSourceMatchesEveryCaller) {
  for (const std::string& json : {OneRule(""), OneRule(R"("source": {})"),
                                  OneRule(R"("source": {"principals": []})")}) {
    const AuthzPolicy policy = MustParse(json);
    EXPECT_TRUE(policy.Evaluate(Request("", "/a/b")).allowed) << json;
    EXPECT_TRUE(policy.Evaluate(Request("someone", "/a/b")).allowed) << json;
  }
}

TEST(AuthzPolicyTest, RuleWithoutRequestMatchesEveryPath) {
  for (const std::string& json :
       {OneRule(R"("source": {"principals": ["x"]})"),
        OneRule(R"("source": {"principals": ["x"]}, "request": {})"),
        OneRule(R"("source": {"principals": ["x"]},
                   "request": {"paths": [], "headers": []})")}) {
    const AuthzPolicy policy = MustParse(json);
    EXPECT_TRUE(policy.Evaluate(Request("x", "/a/b")).allowed) << json;
    EXPECT_FALSE(policy.Evaluate(Request("y", "/a/b")).allowed) << json;
  }
}

TEST(AuthzPolicyTest, CallWithoutPathMatchesNoPathPattern) {
  const AuthzPolicy policy =
      MustParse(OneRule(R"("request": {"paths": ["*", "", "/*"]})"));
  EXPECT_FALSE(policy.Evaluate(Request("p", "")).allowed);
}

// --- Headers ---------------------------------------------------------------

TEST(AuthzPolicyTest, HeaderEntriesMustAllMatchAndAnyValueOfOneSuffices) {
  const AuthzPolicy policy = MustParse(OneRule(R"("request": {"headers": [
      {"key": "x-tenant", "values": ["eu", "uk"]},
      {"key": "x-env", "values": ["prod*"]}]})"));
  EXPECT_TRUE(
      policy
          .Evaluate(Request("p", "/a/b",
                            {{"x-tenant", "uk"}, {"x-env", "production"}}))
          .allowed);
  EXPECT_TRUE(policy
                  .Evaluate(Request("p", "/a/b",
                                    {{"x-env", "prod"}, {"x-tenant", "eu"}}))
                  .allowed);
  EXPECT_FALSE(
      policy.Evaluate(Request("p", "/a/b", {{"x-tenant", "eu"}})).allowed);
  EXPECT_FALSE(policy
                   .Evaluate(Request("p", "/a/b",
                                     {{"x-tenant", "us"}, {"x-env", "prod"}}))
                   .allowed);
}

TEST(AuthzPolicyTest, MissingHeaderMatchesNoValueNotEvenStar) {
  const AuthzPolicy policy = MustParse(HeaderRule("x-a", R"(["*", ""])"));
  EXPECT_FALSE(policy.Evaluate(Request("p", "/a/b")).allowed);
  EXPECT_FALSE(policy.Evaluate(Request("p", "/a/b", {{"x-b", "1"}})).allowed);
}

TEST(AuthzPolicyTest, StarHeaderValueNeedsANonEmptyValue) {
  const AuthzPolicy star = MustParse(HeaderRule("x-a", R"(["*"])"));
  EXPECT_TRUE(star.Evaluate(Request("p", "/a/b", {{"x-a", "1"}})).allowed);
  EXPECT_FALSE(star.Evaluate(Request("p", "/a/b", {{"x-a", ""}})).allowed);
  const AuthzPolicy empty = MustParse(HeaderRule("x-a", R"([""])"));
  EXPECT_TRUE(empty.Evaluate(Request("p", "/a/b", {{"x-a", ""}})).allowed);
  EXPECT_FALSE(empty.Evaluate(Request("p", "/a/b", {{"x-a", "1"}})).allowed);
}

TEST(AuthzPolicyTest, HeaderKeyIsMatchedLowerCase) {
  const AuthzPolicy policy = MustParse(HeaderRule("X-Tenant", R"(["EU"])"));
  EXPECT_TRUE(
      policy.Evaluate(Request("p", "/a/b", {{"x-tenant", "EU"}})).allowed);
  // Values keep their case.
  EXPECT_FALSE(
      policy.Evaluate(Request("p", "/a/b", {{"x-tenant", "eu"}})).allowed);
}

TEST(AuthzPolicyTest, RepeatedHeaderIsMatchedAsItsValuesJoinedByComma) {
  const Headers repeated = {
      {"x-a", "one"}, {"x-other", "zzz"}, {"x-a", "two"}, {"x-a", "three"}};
  const auto allowed = [&repeated](absl::string_view values) {
    return MustParse(HeaderRule("x-a", values))
        .Evaluate(Request("p", "/a/b", repeated))
        .allowed;
  };
  EXPECT_TRUE(allowed(R"(["one,two,three"])"));
  EXPECT_FALSE(allowed(R"(["one"])"));
  EXPECT_FALSE(allowed(R"(["one,two"])"));
  EXPECT_FALSE(allowed(R"(["one,two,three,"])"));
  EXPECT_FALSE(allowed(R"(["one, two, three"])"));
  EXPECT_TRUE(allowed(R"(["one,t*"])"));
  EXPECT_TRUE(allowed(R"(["one,two,three*"])"));
  EXPECT_TRUE(allowed(R"(["on*"])"));
  EXPECT_FALSE(allowed(R"(["one,three*"])"));
  EXPECT_FALSE(allowed(R"(["one,two,three,four*"])"));
  EXPECT_TRUE(allowed(R"(["*o,three"])"));
  EXPECT_TRUE(allowed(R"(["*one,two,three"])"));
  EXPECT_TRUE(allowed(R"(["*ee"])"));
  EXPECT_FALSE(allowed(R"(["*one,three"])"));
  EXPECT_FALSE(allowed(R"(["*zero,one,two,three"])"));
  EXPECT_TRUE(allowed(R"(["*"])"));
}

TEST(AuthzPolicyTest, RepeatedEmptyHeaderValuesJoinToCommas) {
  const Headers empties = {{"x-a", ""}, {"x-a", ""}};
  EXPECT_TRUE(MustParse(HeaderRule("x-a", R"([","])"))
                  .Evaluate(Request("p", "/a/b", empties))
                  .allowed);
  EXPECT_TRUE(MustParse(HeaderRule("x-a", R"(["*"])"))
                  .Evaluate(Request("p", "/a/b", empties))
                  .allowed);
  EXPECT_FALSE(MustParse(HeaderRule("x-a", R"([""])"))
                   .Evaluate(Request("p", "/a/b", empties))
                   .allowed);
}

// --- Decisions -------------------------------------------------------------

TEST(AuthzPolicyTest, DenyRuleWinsOverAllowRule) {
  const AuthzPolicy policy = MustParse(R"({
    "name": "p",
    "allow_rules": [{"name": "everyone"}],
    "deny_rules": [{"name": "no-mallory",
                    "source": {"principals": ["mallory"]}}]})");
  const AuthzDecision denied = policy.Evaluate(Request("mallory", "/a/b"));
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.rule, "no-mallory");
  const AuthzDecision allowed = policy.Evaluate(Request("alice", "/a/b"));
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.rule, "everyone");
}

TEST(AuthzPolicyTest, NoMatchingRuleDeniesWithoutARuleName) {
  const AuthzPolicy policy =
      MustParse(OneRule(R"("source": {"principals": ["alice"]})"));
  const AuthzDecision decision = policy.Evaluate(Request("bob", "/a/b"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "");
}

TEST(AuthzPolicyTest, FirstMatchingRuleInFileOrderIsNamed) {
  const AuthzPolicy policy = MustParse(R"({
    "name": "p",
    "deny_rules": [{"name": "z-deny", "request": {"paths": ["/x/*"]}},
                   {"name": "a-deny"}],
    "allow_rules": [{"name": "z-allow"}, {"name": "a-allow"}]})");
  EXPECT_EQ(policy.Evaluate(Request("p", "/x/1")).rule, "z-deny");
  EXPECT_EQ(policy.Evaluate(Request("p", "/y/1")).rule, "a-deny");
  const AuthzPolicy allow_only =
      MustParse(R"({"name": "p", "allow_rules": [{"name": "z-allow"},
                                                 {"name": "a-allow"}]})");
  EXPECT_EQ(allow_only.Evaluate(Request("p", "/x/1")).rule, "z-allow");
}

TEST(AuthzPolicyTest, SameRuleNameMayBeUsedOnceInEachList) {
  const AuthzPolicy policy = MustParse(R"({
    "name": "p",
    "deny_rules": [{"name": "r", "source": {"principals": ["m"]}}],
    "allow_rules": [{"name": "r"}]})");
  EXPECT_FALSE(policy.Evaluate(Request("m", "/a/b")).allowed);
  EXPECT_TRUE(policy.Evaluate(Request("a", "/a/b")).allowed);
}

TEST(AuthzPolicyTest, EvaluateAllocatesNothing) {
  const AuthzPolicy policy = MustParse(R"({
    "name": "p",
    "deny_rules": [{"name": "deny-x", "request": {"headers": [
        {"key": "x-a", "values": ["one,two", "*three"]}]}}],
    "allow_rules": [{"name": "readers",
                     "source": {"principals": ["spiffe://thb/reader/*"]},
                     "request": {"paths": ["/pkg.S/Get", "/pkg.S/List*"]}}]})");
  const AuthzRequest allowed = Request("spiffe://thb/reader/dev", "/pkg.S/Get",
                                       {{"x-a", "one"}, {"x-a", "three!"}});
  const AuthzRequest unmatched = Request("spiffe://thb/other", "/pkg.S/Get");
  const AuthzRequest denied =
      Request("spiffe://thb/reader/dev", "/pkg.S/Get",
              {{"x-a", "one"}, {"x-b", "1"}, {"x-a", "two"}});
  allocations = 0;
  counting_allocations = true;
  const bool allowed_ok = policy.Evaluate(allowed).allowed;
  const bool unmatched_ok = !policy.Evaluate(unmatched).allowed;
  const bool denied_ok = !policy.Evaluate(denied).allowed;
  counting_allocations = false;
  EXPECT_TRUE(allowed_ok);
  EXPECT_TRUE(unmatched_ok);
  EXPECT_TRUE(denied_ok);
  // Rule names this short live inside the decision's string.
  EXPECT_EQ(allocations, 0);
}

TEST(AuthzPolicyThbTest, ReadersCallTheReadPathsAndNothingElse) {
  const AuthzPolicy policy = MustParse(kThbPolicy);
  for (const char* path : {kGetCountry, kListRecords, kBreakdown}) {
    const AuthzDecision decision = policy.Evaluate(Request(kReader, path));
    EXPECT_TRUE(decision.allowed) << path;
    EXPECT_EQ(decision.rule, "readers");
  }
  for (const char* path : {kListAuditEvents, kCreateRecord, kCreateCountry}) {
    const AuthzDecision decision = policy.Evaluate(Request(kReader, path));
    EXPECT_FALSE(decision.allowed) << path;
    EXPECT_EQ(decision.rule, "") << path;
  }
}

TEST(AuthzPolicyThbTest, EditorsWriteRecordsButNotTheRegistryNorTheAudit) {
  const AuthzPolicy policy = MustParse(kThbPolicy);
  const AuthzDecision write = policy.Evaluate(Request(kEditor, kCreateRecord));
  EXPECT_TRUE(write.allowed);
  EXPECT_EQ(write.rule, "editors-write-records");
  EXPECT_EQ(policy.Evaluate(Request(kEditor, kListRecords)).rule, "readers");
  EXPECT_FALSE(policy.Evaluate(Request(kEditor, kCreateCountry)).allowed);
  EXPECT_FALSE(policy.Evaluate(Request(kEditor, kListAuditEvents)).allowed);
}

TEST(AuthzPolicyThbTest, AdminsCallEverything) {
  const AuthzPolicy policy = MustParse(kThbPolicy);
  for (const char* path : {kGetCountry, kCreateCountry, kCreateRecord,
                           kListAuditEvents, kBreakdown, "/any.Service/Any"}) {
    const AuthzDecision decision = policy.Evaluate(Request(kAdmin, path));
    EXPECT_TRUE(decision.allowed) << path;
    EXPECT_EQ(decision.rule, "admins");
  }
}

TEST(AuthzPolicyThbTest, ServicesReadLikeReaders) {
  const AuthzPolicy policy = MustParse(kThbPolicy);
  EXPECT_TRUE(policy.Evaluate(Request(kService, kListRecords)).allowed);
  EXPECT_FALSE(policy.Evaluate(Request(kService, kCreateRecord)).allowed);
  EXPECT_FALSE(policy.Evaluate(Request(kService, kListAuditEvents)).allowed);
}

TEST(AuthzPolicyThbTest, LookalikePrincipalsAndCallersWithoutOneGetNothing) {
  const AuthzPolicy policy = MustParse(kThbPolicy);
  for (const char* principal :
       {"", "spiffe://thb/admin", "spiffe://thb/administrator/x",
        "spiffe://thb/readers/x", "spiffe://thb/reader", "SPIFFE://thb/admin/x",
        "spiffe://evil/thb/admin/x"}) {
    EXPECT_FALSE(policy.Evaluate(Request(principal, kGetCountry)).allowed)
        << principal;
  }
}

}  // namespace
}  // namespace thb
