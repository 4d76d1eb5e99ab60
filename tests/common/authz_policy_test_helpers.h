#ifndef THB_TESTS_COMMON_AUTHZ_POLICY_TEST_HELPERS_H_
#define THB_TESTS_COMMON_AUTHZ_POLICY_TEST_HELPERS_H_

// What the tests of common/authz_policy.h share: requests, one-rule
// policies, and the project's own policy with its principals and paths.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/authz_policy.h"

namespace thb::testing {

using Headers = std::vector<std::pair<std::string_view, std::string_view>>;

inline AuthzRequest Request(std::string_view principal, std::string_view path,
                            Headers headers = {}) {
  AuthzRequest request;
  request.principal = principal;
  request.path = path;
  request.headers = std::move(headers);
  return request;
}

// A policy of one allow rule "r" whose body (after the name) is `body`.
inline std::string OneRule(absl::string_view body) {
  return absl::StrCat(R"({"name": "p", "allow_rules": [{"name": "r")",
                      body.empty() ? "" : ", ", body, "}]}");
}

// A policy of one allow rule "r" with one header requirement.
inline std::string HeaderRule(absl::string_view key, absl::string_view values) {
  return OneRule(absl::StrCat(R"("request": {"headers": [{"key": ")", key,
                              R"(", "values": )", values, "}]}"));
}

// A policy of the project's roles (admins, editors who write records,
// readers and services), and the principals and paths its tests ask about.
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

}  // namespace thb::testing

#endif  // THB_TESTS_COMMON_AUTHZ_POLICY_TEST_HELPERS_H_
