#ifndef THB_TESTS_SUPPORT_TEST_PKI_H_
#define THB_TESTS_SUPPORT_TEST_PKI_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/channel.h"
#include "grpcpp/channel.h"

namespace thb::testing {

// The identities of the tests' PKI: the quick start's own (scripts/lib/
// dev-pki.sh), made once per build tree and shared by every test process.
//   "registry", "cooperation", "aggregator"  service certificates
//   "reader", "editor", "admin"              the roles of the policy
//   "nobody"       a certificate of the CA that the policy grants nothing
//   "expired"      an expired reader certificate of the same CA
//   "stranger"     a reader certificate of another CA
// The other CA's own PKI, with service certificates too, is in other_dir().
// The policy is the repository's deploy/authz-policy.json.
class TestPki {
 public:
  static const TestPki& Get();

  // The CA the servers trust.
  std::string ca() const;
  // An identity's certificate and key.
  std::string cert(std::string_view identity) const;
  std::string key(std::string_view identity) const;
  std::string policy() const;
  const std::string& dir() const { return dir_; }
  std::string other_dir() const { return dir_ + "/other-ca"; }

  // The flags of a server of `service` ("registry", ...): TLS with its own
  // certificate, the policy, and files read again every second.
  std::vector<std::string> ServerArgs(std::string_view service) const;
  // The environment of a client binary (thbctl, grpc-call) acting as
  // `identity`.
  std::map<std::string, std::string> ClientEnv(std::string_view identity) const;
  // Channel options of a client acting as `identity` ("" for none: TLS
  // without a client certificate).
  ChannelOptions ClientOptions(std::string_view identity) const;

 private:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

// A channel to `address` as `identity` (the admin unless said): tests of
// behaviour call with every right; tests of rights say who calls.
std::shared_ptr<grpc::Channel> TestChannel(std::string_view address,
                                           std::string_view identity = "admin");

}  // namespace thb::testing

#endif  // THB_TESTS_SUPPORT_TEST_PKI_H_
