#include "common/channel.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/string_view.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace thb {
namespace {

// gRPC refuses a retry policy above this many attempts.
constexpr int kMaxAttemptsCap = 5;
// Each failed attempt takes a token and each success gives a tenth back;
// retries stop while half or fewer are left.
constexpr int kRetryTokens = 100;
constexpr absl::Duration kKeepaliveTimeout = absl::Seconds(10);

// The idempotent reads: retrying them after UNAVAILABLE is always safe.
// Writes are absent on purpose: a retried create or update may apply twice.
constexpr const char* kRegistryReads[] = {
    "GetCountry",  "BatchGetCountries", "ListCountries",    "GetRegion",
    "ListRegions", "GetOrganisation",   "ListOrganisations"};
constexpr const char* kCooperationReads[] = {"GetRecord", "ListRecords"};

enum class Family { kIpv4, kIpv6 };

bool IsPort(std::string_view text) {
  int port = 0;
  return !text.empty() && text.size() <= 5 &&
         std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_isdigit(c); }) &&
         absl::SimpleAtoi(ToAbsl(text), &port) && port > 0 && port <= 65535;
}

// inet_pton reads up to a NUL byte, so "127.0.0.1<NUL>x" would pass as
// 127.0.0.1: a host with one is no address.
bool IsIpv4(std::string_view host) {
  in_addr address;
  return host.find('\0') == std::string_view::npos &&
         inet_pton(AF_INET, std::string(host).c_str(), &address) == 1;
}

bool IsIpv6(std::string_view host) {
  in6_addr address;
  return host.find('\0') == std::string_view::npos &&
         inet_pton(AF_INET6, std::string(host).c_str(), &address) == 1;
}

// "ip:port", "[ip6]:port" or "localhost:port" as an address of a static
// "ipv4:"/"ipv6:" target, or nullopt for anything gRPC must resolve.
std::optional<std::pair<Family, std::string>> LiteralAddress(
    std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view host = address.substr(0, colon);
  const std::string_view port = address.substr(colon + 1);
  if (!IsPort(port)) return std::nullopt;
  // A static target cannot hold a name, and localhost is the one name a list
  // of local replicas uses; they listen on 127.0.0.1 (the ServerOptions
  // default), whatever the resolver would have picked first.
  if (host == "localhost") {
    return std::make_pair(Family::kIpv4,
                          absl::StrCat("127.0.0.1:", ToAbsl(port)));
  }
  if (IsIpv4(host)) return std::make_pair(Family::kIpv4, std::string(address));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']' &&
      IsIpv6(host.substr(1, host.size() - 2))) {
    return std::make_pair(Family::kIpv6, std::string(address));
  }
  return std::nullopt;
}

// A protobuf JSON Duration: "1s", "0.05s".
std::string JsonDuration(absl::Duration duration) {
  // gRPC refuses a zero backoff.
  const int64_t nanos =
      std::max<int64_t>(absl::ToInt64Nanoseconds(duration), 1000000);
  const int64_t seconds = nanos / 1000000000;
  const int64_t fraction = nanos % 1000000000;
  if (fraction == 0) return absl::StrCat(seconds, "s");
  std::string digits = absl::StrFormat("%09d", fraction);
  digits.erase(digits.find_last_not_of('0') + 1);
  return absl::StrCat(seconds, ".", digits, "s");
}

int Milliseconds(absl::Duration duration) {
  return static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(duration), 0, INT_MAX));
}

std::string MethodName(std::string_view service, std::string_view method) {
  return absl::StrFormat(R"({"service":"%s","method":"%s"})", service, method);
}

// The call itself takes the earlier of its own deadline and the parent's
// (FromServerContext propagates it in the core, not in the ClientContext), so
// setting the earlier one here changes nothing on the wire; it makes
// deadline() tell the truth to code that budgets the time left.
std::unique_ptr<grpc::ClientContext> WithCappedDeadline(
    std::unique_ptr<grpc::ClientContext> context,
    std::chrono::system_clock::time_point parent_deadline,
    absl::Duration max_timeout) {
  const std::chrono::system_clock::time_point cap =
      absl::ToChronoTime(absl::Now() + max_timeout);
  context->set_deadline(std::min(parent_deadline, cap));
  return context;
}

}  // namespace

std::string ChannelTarget(std::string_view text) {
  const absl::string_view addresses = absl::StripAsciiWhitespace(ToAbsl(text));
  if (!absl::StrContains(addresses, ',')) return std::string(addresses);
  std::vector<std::string> literals;
  std::optional<Family> family;
  for (absl::string_view part : absl::StrSplit(addresses, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;
    auto literal = LiteralAddress(ToStd(part));
    // Names and mixed families have no static target; gRPC then reports the
    // address list as unresolvable, which names it.
    if (!literal.has_value() ||
        (family.has_value() && *family != literal->first)) {
      return std::string(addresses);
    }
    family = literal->first;
    literals.push_back(std::move(literal->second));
  }
  if (!family.has_value()) return std::string(addresses);
  return absl::StrCat(*family == Family::kIpv4 ? "ipv4:" : "ipv6:",
                      absl::StrJoin(literals, ","));
}

std::string ServiceConfigJson(const ChannelOptions& options) {
  // round_robin spreads calls over every address of a headless service or
  // list; the default, pick_first, would send them all to one replica.
  // Each connection also watches the server's health (the "" name, which a
  // stopping server turns NOT_SERVING first): round_robin then stops picking
  // a replica while it drains, before its Shutdown refuses new calls, which
  // gRPC ends CANCELLED, a status no retry policy may retry. A server
  // without the health service counts as healthy.
  const std::string load_balancing =
      R"("loadBalancingConfig":[{"round_robin":{}}],)"
      R"("healthCheckConfig":{"serviceName":""})";
  if (options.max_read_attempts <= 1) {
    return absl::StrCat("{", load_balancing, "}");
  }
  std::vector<std::string> names;
  for (const char* method : kRegistryReads) {
    names.push_back(
        MethodName("thb.registry.v1.CountryRegistryService", method));
  }
  for (const char* method : kCooperationReads) {
    names.push_back(
        MethodName("thb.cooperation.v1.CooperationRecordService", method));
  }
  // Every statistics RPC only reads.
  names.push_back(R"({"service":"thb.stats.v1.StatisticsService"})");
  names.push_back(MethodName("grpc.health.v1.Health", "Check"));
  const std::string retry_policy = absl::StrFormat(
      R"("retryPolicy":{"maxAttempts":%d,"initialBackoff":"%s",)"
      R"("maxBackoff":"%s","backoffMultiplier":2,)"
      R"("retryableStatusCodes":["UNAVAILABLE"]})",
      std::min(options.max_read_attempts, kMaxAttemptsCap),
      JsonDuration(options.initial_backoff), JsonDuration(options.max_backoff));
  // Throttling stops the retries when most calls fail, so that a replica
  // that is down is not hit by every client's retries at once. It starts
  // once half the tokens are gone: a replica killed under load fails every
  // call it holds at once (16 callers over 3 replicas fail about 6, then
  // some more picked before its connection is known dead), and those must
  // still be retried.
  return absl::StrCat("{", load_balancing, R"(,"methodConfig":[{"name":[)",
                      absl::StrJoin(names, ","), "],", retry_policy, "}],",
                      R"("retryThrottling":{"maxTokens":)", kRetryTokens,
                      R"(,"tokenRatio":0.1}})");
}

namespace {

// The host of the first address of a static "ipv4:"/"ipv6:" list, which
// gRPC would otherwise check the server's certificate against the whole
// list.
std::string FirstListedHost(std::string_view target) {
  absl::string_view rest = ToAbsl(target);
  if (!absl::ConsumePrefix(&rest, "ipv4:") &&
      !absl::ConsumePrefix(&rest, "ipv6:")) {
    return "";
  }
  const absl::string_view first = rest.substr(0, rest.find(','));
  absl::string_view host = first.substr(0, first.rfind(':'));
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  return std::string(host);
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(std::string_view addresses,
                                           const ChannelOptions& options) {
  const std::string target = ChannelTarget(addresses);
  grpc::ChannelArguments args;
  std::string server_name = options.tls_server_name;
  if (server_name.empty()) server_name = FirstListedHost(target);
  if (!server_name.empty()) args.SetSslTargetNameOverride(server_name);
  args.SetServiceConfigJSON(ServiceConfigJson(options));
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  if (options.keepalive_time > absl::ZeroDuration()) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                Milliseconds(options.keepalive_time));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Milliseconds(kKeepaliveTimeout));
    // A replica that died without closing the connection is found while the
    // channel is idle too, not by the next call.
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  std::shared_ptr<grpc::ChannelCredentials> credentials = options.credentials;
  if (credentials == nullptr) {
    credentials = *TlsChannelCredentials(TlsFiles{});
  }
  return grpc::CreateCustomChannel(target, credentials, args);
}

std::unique_ptr<grpc::ClientContext> MakeClientContext(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

std::unique_ptr<grpc::ClientContext> MakeChildContext(
    grpc::CallbackServerContext* parent, absl::Duration max_timeout) {
  return WithCappedDeadline(
      grpc::ClientContext::FromCallbackServerContext(*parent),
      parent->deadline(), max_timeout);
}

std::unique_ptr<grpc::ClientContext> MakeChildContext(
    grpc::ServerContext* parent, absl::Duration max_timeout) {
  return WithCappedDeadline(grpc::ClientContext::FromServerContext(*parent),
                            parent->deadline(), max_timeout);
}

}  // namespace thb
