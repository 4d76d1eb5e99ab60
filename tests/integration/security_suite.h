#ifndef THB_TESTS_INTEGRATION_SECURITY_SUITE_H_
#define THB_TESTS_INTEGRATION_SECURITY_SUITE_H_

// What the security tests share: the quick start's identities, a call of any
// method and whether it was refused, and the three services as real
// processes with TLS and the authorization policy. Needs the binaries' paths
// (THB_REGISTRY_BIN, ...) defined.

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"

namespace thb::testing {

constexpr char kReader[] = "spiffe://thb/reader/dev";
constexpr char kEditor[] = "spiffe://thb/editor/dev";
constexpr char kAdmin[] = "spiffe://thb/admin/dev";

// One call of any method with an empty request, whatever its streaming: the
// request is written, one response read, and a stream cancelled after it.
class AnyCall
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  AnyCall(grpc::GenericStub* stub, grpc::ClientContext* context,
          const std::string& method)
      : context_(context) {
    grpc::Slice empty;
    request_ = grpc::ByteBuffer(&empty, 1);
    stub->PrepareBidiStreamingCall(context, method, grpc::StubOptions(), this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
  }
  void OnWriteDone(bool) override { StartWritesDone(); }
  void OnReadDone(bool ok) override {
    // An answer came: the call was admitted. A stream would go on.
    if (ok) context_->TryCancel();
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }
  grpc::Status Wait() {
    done_.WaitForNotification();
    return status_;
  }

 private:
  grpc::ClientContext* context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::Status status_;
  absl::Notification done_;
};

// A refusal comes at once; an admitted stream that has nothing to send ends
// by this deadline, which says it was admitted as well as an answer would.
inline grpc::Status CallMethod(const std::shared_ptr<grpc::Channel>& channel,
                               const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  AnyCall call(&stub, &context, method);
  return call.Wait();
}

inline bool Refused(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
         status.error_code() == grpc::StatusCode::PERMISSION_DENIED;
}

inline void WriteText(const std::string& path, const std::string& text) {
  // Written beside and renamed, as an operator's tools replace a file.
  const std::string temporary = path + ".new";
  std::ofstream(temporary, std::ios::binary | std::ios::trunc) << text;
  std::filesystem::rename(temporary, path);
}

// The three services, each with TLS, the policy and its health port.
class Suite {
 public:
  explicit Suite(std::vector<std::string> registry_args = {},
                 std::vector<std::string> cooperation_args = {})
      : dir_(testing::MakeTempDir("security")) {
    registry_ = std::make_unique<ServerProcess>(THB_REGISTRY_BIN, dir_,
                                                "registry", registry_args);
    registry_status_ = registry_->Start();
    if (!registry_status_.ok()) return;
    cooperation_args.push_back(
        absl::StrCat("--registry=", registry_->address()));
    cooperation_ = std::make_unique<ServerProcess>(
        THB_COOPERATION_BIN, dir_, "cooperation", cooperation_args);
    registry_status_ = cooperation_->Start();
    if (!registry_status_.ok()) return;
    aggregator_ = std::make_unique<ServerProcess>(
        THB_AGGREGATOR_BIN, dir_, "aggregator",
        std::vector<std::string>{
            absl::StrCat("--registry=", registry_->address()),
            absl::StrCat("--cooperation=", cooperation_->address()),
            "--redis="},
        /*with_db=*/false);
    registry_status_ = aggregator_->Start();
  }

  const absl::Status& status() const { return registry_status_; }
  const std::string& dir() const { return dir_; }
  ServerProcess& registry() { return *registry_; }
  ServerProcess& cooperation() { return *cooperation_; }
  ServerProcess& aggregator() { return *aggregator_; }

 private:
  std::string dir_;
  absl::Status registry_status_;
  std::unique_ptr<ServerProcess> registry_;
  std::unique_ptr<ServerProcess> cooperation_;
  std::unique_ptr<ServerProcess> aggregator_;
};

inline std::unique_ptr<grpc::ClientContext> Context() {
  return MakeClientContext(absl::Seconds(10));
}

}  // namespace thb::testing

#endif  // THB_TESTS_INTEGRATION_SECURITY_SUITE_H_
