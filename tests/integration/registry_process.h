#ifndef THB_TESTS_INTEGRATION_REGISTRY_PROCESS_H_
#define THB_TESTS_INTEGRATION_REGISTRY_PROCESS_H_

// A real thb-registry process for the integration tests (THB_REGISTRY_BIN
// names its binary) and the calls they share.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/channel.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"

namespace thb {

namespace v1 = ::thb::registry::v1;
using ::thb::testing::Process;

// One registry process over one database file; Restart() keeps the file.
class Registry {
 public:
  explicit Registry(std::vector<std::string> extra_args = {})
      : dir_(thb::testing::MakeTempDir("registry")),
        extra_args_(std::move(extra_args)) {}

  void Start() {
    const std::string port_file = absl::StrCat(dir_, "/port-", ++starts_);
    std::vector<std::string> args = {
        "--port=0", absl::StrCat("--port_file=", port_file),
        absl::StrCat("--db=", dir_, "/registry.sqlite3"), "--drain=0s",
        "--health_port=0"};
    for (std::string& arg :
         thb::testing::TestPki::Get().ServerArgs("registry")) {
      args.push_back(std::move(arg));
    }
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    auto process = Process::Start(THB_REGISTRY_BIN, args);
    ASSERT_TRUE(process.ok()) << process.status();
    process_ = std::make_unique<Process>(std::move(*process));
    auto port =
        thb::testing::WaitForPortFile(port_file, *process_, absl::Seconds(30));
    ASSERT_TRUE(port.ok()) << port.status();
    address_ = absl::StrCat("127.0.0.1:", *port);
    channel_ = thb::testing::TestChannel(address_);
    stub_ = v1::CountryRegistryService::NewStub(channel_);
  }

  Process& process() { return *process_; }
  const std::string& address() const { return address_; }
  v1::CountryRegistryService::Stub& stub() { return *stub_; }
  std::string db() const { return absl::StrCat(dir_, "/registry.sqlite3"); }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

 private:
  std::string dir_;
  std::vector<std::string> extra_args_;
  int starts_ = 0;
  std::unique_ptr<Process> process_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::CountryRegistryService::Stub> stub_;
};

inline std::unique_ptr<grpc::ClientContext> Context() {
  return MakeClientContext(absl::Seconds(10));
}

// The code "country" of GetCountry over the wire, or the error.
inline std::string ResolvedOverTheWire(Registry& registry,
                                       const std::string& code) {
  v1::GetCountryRequest get;
  get.set_code(code);
  v1::GetCountryResponse response;
  auto context = Context();
  const grpc::Status status =
      registry.stub().GetCountry(context.get(), get, &response);
  if (!status.ok()) return status.error_message();
  return response.country().code();
}

}  // namespace thb

#endif  // THB_TESTS_INTEGRATION_REGISTRY_PROCESS_H_
