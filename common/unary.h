#ifndef THB_COMMON_UNARY_H_
#define THB_COMMON_UNARY_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "common/executor.h"
#include "common/grpc_status.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"

namespace thb {

// Finishes a callback unary call with a core's result: the response on
// success, else the mapped error with google.rpc details. For work that does
// not block (in-memory reads), run on the reactor thread itself.
template <typename Response>
grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                      absl::StatusOr<Response> result,
                                      Response* response,
                                      std::string_view domain) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (result.ok()) {
    *response = std::move(*result);
    reactor->Finish(grpc::Status::OK);
  } else {
    reactor->Finish(ToGrpcStatus(result.status(), domain));
  }
  return reactor;
}

// Runs `work(response)` (which may block: disk, network; it returns a
// status) on `executor` and finishes the call with it, so the reactor thread
// returns at once. The work fills the call's own response message: a response
// allocated on an arena (ArenaMessageAllocator) is then filled in place rather
// than copied into.
template <typename Response, typename Work>
grpc::ServerUnaryReactor* OffloadUnaryInto(grpc::CallbackServerContext* context,
                                           Executor* executor,
                                           Response* response,
                                           std::string domain, Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The domain is copied: a refused task is dropped with its captures.
  absl::Status admitted = executor->TrySchedule(
      [reactor, context, response, domain, work = std::move(work)]() mutable {
        if (context->IsCancelled()) {
          reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                       "the call was cancelled before it ran"));
          return;
        }
        const absl::Status status = work(response);
        if (status.ok()) {
          reactor->Finish(grpc::Status::OK);
        } else {
          response->Clear();
          reactor->Finish(ToGrpcStatus(status, domain));
        }
      });
  if (!admitted.ok()) reactor->Finish(ToGrpcStatus(admitted, domain));
  return reactor;
}

// Runs `work` (which may block: disk, network) on `executor` and finishes
// the call with its result, so the reactor thread returns at once.
template <typename Response, typename Work>
grpc::ServerUnaryReactor* OffloadUnary(grpc::CallbackServerContext* context,
                                       Executor* executor, Response* response,
                                       std::string domain, Work work) {
  return OffloadUnaryInto(
      context, executor, response, std::move(domain),
      [work = std::move(work)](Response* out) mutable -> absl::Status {
        absl::StatusOr<Response> result = work();
        if (!result.ok()) return result.status();
        *out = std::move(*result);
        return absl::OkStatus();
      });
}

}  // namespace thb

#endif  // THB_COMMON_UNARY_H_
