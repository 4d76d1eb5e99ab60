#include "common/authz_policy.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

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

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using Headers = std::vector<std::pair<std::string_view, std::string_view>>;

AuthzRequest Request(std::string_view principal, std::string_view path,
                     Headers headers = {}) {
  AuthzRequest request;
  request.principal = principal;
  request.path = path;
  request.headers = std::move(headers);
  return request;
}

AuthzPolicy MustParse(std::string_view json) {
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(json);
  EXPECT_TRUE(policy.ok()) << policy.status();
  if (!policy.ok()) std::abort();
  return *std::move(policy);
}

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

// A policy of one allow rule "r" whose body (after the name) is `body`.
std::string OneRule(absl::string_view body) {
  return absl::StrCat(R"({"name": "p", "allow_rules": [{"name": "r")",
                      body.empty() ? "" : ", ", body, "}]}");
}

// A policy of one allow rule "r" with one header requirement.
std::string HeaderRule(absl::string_view key, absl::string_view values) {
  return OneRule(absl::StrCat(R"("request": {"headers": [{"key": ")", key,
                              R"(", "values": )", values, "}]}"));
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

// --- The project's own policy ----------------------------------------------

constexpr char kThbPolicy[] = R"json({
  "name": "thb",
  "allow_rules": [
    {
      "name": "admins",
      "source": {"principals": ["spiffe://thb/admin/*"]}
    },
    {
      "name": "editors-write-records",
      "source": {"principals": ["spiffe://thb/editor/*"]},
      "request": {"paths": [
        "/thb.cooperation.v1.CooperationRecordService/CreateRecord",
        "/thb.cooperation.v1.CooperationRecordService/BatchCreateRecords",
        "/thb.cooperation.v1.CooperationRecordService/UpdateRecord",
        "/thb.cooperation.v1.CooperationRecordService/DeleteRecord"
      ]}
    },
    {
      "name": "readers",
      "source": {"principals": ["spiffe://thb/reader/*",
                                "spiffe://thb/editor/*",
                                "spiffe://thb/service/*"]},
      "request": {"paths": [
        "/thb.registry.v1.CountryRegistryService/GetCountry",
        "/thb.registry.v1.CountryRegistryService/BatchGetCountries",
        "/thb.registry.v1.CountryRegistryService/ListCountries",
        "/thb.registry.v1.CountryRegistryService/GetRegion",
        "/thb.registry.v1.CountryRegistryService/ListRegions",
        "/thb.registry.v1.CountryRegistryService/GetOrganisation",
        "/thb.registry.v1.CountryRegistryService/ListOrganisations",
        "/thb.registry.v1.CountryRegistryService/Watch",
        "/thb.cooperation.v1.CooperationRecordService/GetRecord",
        "/thb.cooperation.v1.CooperationRecordService/ListRecords",
        "/thb.cooperation.v1.CooperationRecordService/Watch",
        "/thb.stats.v1.StatisticsService/*"
      ]}
    }
  ]
})json";

constexpr char kReader[] = "spiffe://thb/reader/dev";
constexpr char kEditor[] = "spiffe://thb/editor/dev";
constexpr char kAdmin[] = "spiffe://thb/admin/dev";
constexpr char kService[] = "spiffe://thb/service/aggregator";
constexpr char kGetCountry[] =
    "/thb.registry.v1.CountryRegistryService/GetCountry";
constexpr char kCreateCountry[] =
    "/thb.registry.v1.CountryRegistryService/CreateCountry";
constexpr char kListRecords[] =
    "/thb.cooperation.v1.CooperationRecordService/ListRecords";
constexpr char kCreateRecord[] =
    "/thb.cooperation.v1.CooperationRecordService/CreateRecord";
constexpr char kListAuditEvents[] =
    "/thb.cooperation.v1.CooperationRecordService/ListAuditEvents";
constexpr char kBreakdown[] = "/thb.stats.v1.StatisticsService/Breakdown";

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
  const std::string path = absl::StrCat(testing::TempDir(), "/", name);
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
      absl::StrCat(testing::TempDir(), "/authz_no_such_file.json");
  std::remove(path.c_str());
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::FromFile(path);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr(path));
}

TEST(AuthzPolicyFileTest, DirectoryIsAFailedPrecondition) {
  absl::StatusOr<AuthzPolicy> policy =
      AuthzPolicy::FromFile(testing::TempDir());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace thb
