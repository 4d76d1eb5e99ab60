#include "common/echo_service.h"

#include "grpcpp/support/byte_buffer.h"

namespace thb {
namespace {

class EchoReactor : public grpc::ServerGenericBidiReactor {
 public:
  explicit EchoReactor(bool echo) {
    if (!echo) {
      Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""));
      return;
    }
    StartRead(&buffer_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    StartWrite(&buffer_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
      return;
    }
    StartRead(&buffer_);
  }

  void OnDone() override { delete this; }

 private:
  grpc::ByteBuffer buffer_;
};

}  // namespace

grpc::ServerGenericBidiReactor* EchoService::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  return new EchoReactor(context->method() == kEchoMethod);
}

}  // namespace thb
