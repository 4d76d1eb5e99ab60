// The authorization step alone, without gRPC around it: what
// CallAuthenticator::Process costs a call of the reader on cached
// CountCountries (principal from the client certificate, the repository's
// policy, the metadata a grpc++ client sends), and the policy's Evaluate
// within it. Set against the per-call cost of TLS and authorization that
// scripts/bench-tls.sh measures end to end.
//
//   authz_bench [--benchmark_...]   (THB_AUTHZ_POLICY: the policy file,
//                                    default deploy/authz-policy.json)

#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/authz_policy.h"
#include "common/call_authenticator.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"

namespace thb::bench {
namespace {

constexpr char kReader[] = "spiffe://thb/reader/dev";
constexpr char kCountCountries[] =
    "/thb.stats.v1.StatisticsService/CountCountries";

std::string PolicyFile() {
  const char* path = std::getenv("THB_AUTHZ_POLICY");
  return path != nullptr ? path : "deploy/authz-policy.json";
}

// The metadata gRPC hands the processor for a unary call of a grpc++ client
// with a deadline.
const std::vector<std::pair<std::string, std::string>>& CallMetadata() {
  static const auto* metadata =
      new std::vector<std::pair<std::string, std::string>>{
          {":path", kCountCountries},
          {":authority", "127.0.0.1:50053"},
          {":method", "POST"},
          {":scheme", "https"},
          {"content-type", "application/grpc"},
          {"te", "trailers"},
          {"grpc-accept-encoding", "identity, deflate, gzip"},
          {"user-agent", "grpc-c++/1.51.1 grpc-c/29.0.0 (linux; chttp2)"},
          {"grpc-timeout", "4999968u"}};
  return *metadata;
}

// What a verified client certificate of the reader puts in the connection's
// AuthContext, as far as the authorization step reads it.
class ReaderCertificateContext : public grpc::AuthContext {
 public:
  bool IsPeerAuthenticated() const override { return true; }
  std::vector<grpc::string_ref> GetPeerIdentity() const override {
    return {kReader};
  }
  std::string GetPeerIdentityPropertyName() const override {
    return GRPC_PEER_URI_PROPERTY_NAME;
  }
  std::vector<grpc::string_ref> FindPropertyValues(
      const std::string& name) const override {
    if (name == GRPC_PEER_URI_PROPERTY_NAME) return {kReader};
    return {};
  }
  grpc::AuthPropertyIterator begin() const override { return End(); }
  grpc::AuthPropertyIterator end() const override { return End(); }
  void AddProperty(const std::string&, const grpc::string_ref&) override {}
  bool SetPeerIdentityPropertyName(const std::string&) override {
    return false;
  }

 private:
  struct EmptyIterator : grpc::AuthPropertyIterator {};
  static grpc::AuthPropertyIterator End() { return EmptyIterator(); }
};

void BM_PolicyEvaluate(benchmark::State& state) {
  auto policy = AuthzPolicy::FromFile(PolicyFile());
  if (!policy.ok()) {
    state.SkipWithError(std::string(policy.status().message()).c_str());
    return;
  }
  AuthzRequest request;
  request.principal = kReader;
  for (const auto& [key, value] : CallMetadata()) {
    if (key == ":path") {
      request.path = value;
    } else {
      request.headers.emplace_back(key, value);
    }
  }
  for (auto _ : state) {
    AuthzDecision decision = policy->Evaluate(request);
    if (!decision.allowed) state.SkipWithError("the reader was refused");
    benchmark::DoNotOptimize(decision);
  }
}
BENCHMARK(BM_PolicyEvaluate);

void BM_CallAuthenticatorProcess(benchmark::State& state) {
  AuthOptions options;
  options.policy_file = PolicyFile();
  auto authenticator = CallAuthenticator::Create(options);
  if (!authenticator.ok()) {
    state.SkipWithError(std::string(authenticator.status().message()).c_str());
    return;
  }
  grpc::AuthMetadataProcessor::InputMetadata metadata;
  for (const auto& [key, value] : CallMetadata()) metadata.emplace(key, value);
  ReaderCertificateContext context;
  for (auto _ : state) {
    grpc::AuthMetadataProcessor::OutputMetadata consumed;
    grpc::AuthMetadataProcessor::OutputMetadata response;
    grpc::Status status =
        (*authenticator)->Process(metadata, &context, &consumed, &response);
    if (!status.ok()) state.SkipWithError(status.error_message().c_str());
    benchmark::DoNotOptimize(status);
  }
}
BENCHMARK(BM_CallAuthenticatorProcess);

}  // namespace
}  // namespace thb::bench

BENCHMARK_MAIN();
