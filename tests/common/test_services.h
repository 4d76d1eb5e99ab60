#ifndef THB_TESTS_COMMON_TEST_SERVICES_H_
#define THB_TESTS_COMMON_TEST_SERVICES_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"

namespace thb::testing {

// Answers every method (those no registered service has) by calling a
// handler that may finish the call at once, later from another thread, or
// never; a call never finished ends CANCELLED when the client gives up.
class FakeService : public grpc::CallbackGenericService {
 public:
  using Finish = std::function<void(grpc::Status)>;
  using Handler =
      std::function<void(grpc::GenericCallbackServerContext*, Finish)>;

  explicit FakeService(Handler handler) : handler_(std::move(handler)) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new Reactor(context, &handler_);
  }

 private:
  // Shared with the Finish callbacks, which may outlive the reactor.
  struct CallState {
    absl::Mutex mu;
    bool finished ABSL_GUARDED_BY(mu) = false;
  };

  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    Reactor(grpc::GenericCallbackServerContext* context, Handler* handler)
        : context_(context),
          handler_(handler),
          state_(std::make_shared<CallState>()) {
      grpc::Slice reply("ok");
      response_ = grpc::ByteBuffer(&reply, 1);
      StartRead(&request_);
    }

    void OnReadDone(bool ok) override {
      if (!ok) {
        FinishOnce(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
        return;
      }
      std::shared_ptr<CallState> state = state_;
      (*handler_)(context_, [this, state](grpc::Status status) {
        {
          absl::MutexLock lock(&state->mu);
          if (state->finished) return;
          state->finished = true;
        }
        Send(std::move(status));
      });
    }

    void OnCancel() override {
      FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
    }

    void OnDone() override { delete this; }

   private:
    void FinishOnce(grpc::Status status) {
      {
        absl::MutexLock lock(&state_->mu);
        if (state_->finished) return;
        state_->finished = true;
      }
      Send(std::move(status));
    }

    void Send(grpc::Status status) {
      if (status.ok()) {
        StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
      } else {
        Finish(status);
      }
    }

    grpc::GenericCallbackServerContext* context_;
    Handler* handler_;
    std::shared_ptr<CallState> state_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };

  Handler handler_;
};

// One unary call of `method` ("/package.Service/Method") with a small
// request, waiting for its status.
inline grpc::Status CallUnary(const std::shared_ptr<grpc::Channel>& channel,
                              grpc::ClientContext* context,
                              const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice("request");
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status result;
  absl::Notification done;
  stub.UnaryCall(context, method, grpc::StubOptions(), &request, &response,
                 [&result, &done](grpc::Status status) {
                   result = std::move(status);
                   done.Notify();
                 });
  done.WaitForNotification();
  return result;
}

}  // namespace thb::testing

#endif  // THB_TESTS_COMMON_TEST_SERVICES_H_
