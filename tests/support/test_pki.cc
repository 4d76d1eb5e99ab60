#include "tests/support/test_pki.h"

#include <sys/stat.h>

#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/string_view.h"

namespace thb::testing {
namespace {

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

// Runs a shell command; the test process cannot go on without its PKI, so
// a failure ends it.
void Run(const std::string& command) {
  if (std::system(command.c_str()) != 0) {
    std::cerr << "making the test PKI failed: " << command << std::endl;
    std::abort();
  }
}

std::string MakePki() {
  const std::string dir = THB_TEST_PKI_DIR;
  // Made once per build tree: the script verifies every file it keeps, which
  // takes longer than a test should wait each time.
  const std::string stamp = dir + "/.complete-3";
  if (Exists(stamp)) return dir;
  const std::string script = absl::StrCat("bash '", THB_DEV_PKI_SCRIPT, "' ");
  const std::string other = dir + "/other-ca";
  Run(absl::StrCat(script, "'", dir, "' >/dev/null"));
  Run(absl::StrCat(script, "'", dir,
                   "' client nobody spiffe://thb/nobody/test >/dev/null"));
  Run(absl::StrCat(script, "'", dir,
                   "' client expired spiffe://thb/reader/expired --expired "
                   ">/dev/null"));
  Run(absl::StrCat(script, "'", other, "' >/dev/null"));
  Run(absl::StrCat(
      script, "'", other,
      "' client stranger spiffe://thb/reader/stranger >/dev/null"));
  Run(absl::StrCat("cp '", other, "/stranger.pem' '", other,
                   "/stranger-key.pem' '", dir, "/' && touch '", stamp, "'"));
  return dir;
}

}  // namespace

const TestPki& TestPki::Get() {
  static const TestPki* const pki = new TestPki(MakePki());
  return *pki;
}

std::string TestPki::ca() const { return dir_ + "/ca.pem"; }

std::string TestPki::cert(std::string_view identity) const {
  return absl::StrCat(dir_, "/", ToAbsl(identity), ".pem");
}

std::string TestPki::key(std::string_view identity) const {
  return absl::StrCat(dir_, "/", ToAbsl(identity), "-key.pem");
}

std::string TestPki::policy() const { return THB_TEST_AUTHZ_POLICY; }

std::vector<std::string> TestPki::ServerArgs(std::string_view service) const {
  return {absl::StrCat("--tls_ca=", ca()),
          absl::StrCat("--tls_cert=", cert(service)),
          absl::StrCat("--tls_key=", key(service)),
          absl::StrCat("--authz_policy=", policy()),
          "--tls_refresh_interval=1s"};
}

std::map<std::string, std::string> TestPki::ClientEnv(
    std::string_view identity) const {
  return {{"THB_TLS_CA", ca()},
          {"THB_TLS_CERT", cert(identity)},
          {"THB_TLS_KEY", key(identity)}};
}

ChannelOptions TestPki::ClientOptions(std::string_view identity) const {
  ChannelSecurity security;
  security.tls.ca = ca();
  if (!identity.empty()) {
    security.tls.cert = cert(identity);
    security.tls.key = key(identity);
  }
  security.tls.refresh_interval = absl::Seconds(1);
  ChannelOptions options;
  auto credentials = MakeChannelCredentials(security);
  if (!credentials.ok()) {
    std::cerr << credentials.status() << std::endl;
    std::abort();
  }
  options.credentials = std::move(*credentials);
  return options;
}

std::shared_ptr<grpc::Channel> TestChannel(std::string_view address,
                                           std::string_view identity) {
  return MakeChannel(address, TestPki::Get().ClientOptions(identity));
}

}  // namespace thb::testing
