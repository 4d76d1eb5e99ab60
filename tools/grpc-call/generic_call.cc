#include "tools/grpc-call/generic_call.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "grpcpp/support/time.h"

namespace thb::grpc_call {
namespace {

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromByteBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

// Generic stubs in this gRPC release are asynchronous only. One operation is
// in flight at a time, so waiting for each in turn makes the call synchronous;
// the context's deadline guarantees every operation completes.
bool Await(grpc::CompletionQueue& queue) {
  void* tag = nullptr;
  bool ok = false;
  return queue.Next(&tag, &ok) && ok;
}

}  // namespace

absl::Status StatusFromRpc(const grpc::Status& status) {
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
  if (!result.ok() && !status.error_details().empty()) {
    result.SetPayload(kStatusDetailsPayload,
                      absl::Cord(status.error_details()));
  }
  return result;
}

absl::Status CallMethod(
    std::shared_ptr<grpc::Channel> channel, const std::string& method,
    const std::string& request, absl::Time deadline,
    const std::function<bool(const std::string&)>& on_response) {
  grpc::GenericStub stub(std::move(channel));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  grpc::CompletionQueue queue;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, method, &queue);
  int tag = 0;  // The operations are awaited in turn: one tag does.
  bool stopped_early = false;

  call->StartCall(&tag);
  // A failed start or write shows up as the status that Finish reports.
  if (Await(queue)) {
    call->WriteLast(ToByteBuffer(request), grpc::WriteOptions(), &tag);
    if (Await(queue)) {
      grpc::ByteBuffer response;
      for (;;) {
        call->Read(&response, &tag);
        if (!Await(queue)) break;
        if (!on_response(FromByteBuffer(response))) {
          stopped_early = true;
          context.TryCancel();
          break;
        }
      }
    }
  }
  grpc::Status status;
  call->Finish(&status, &tag);
  Await(queue);
  queue.Shutdown();
  void* ignored_tag;
  bool ignored_ok;
  while (queue.Next(&ignored_tag, &ignored_ok)) {
  }

  if (stopped_early && status.error_code() == grpc::StatusCode::CANCELLED) {
    return absl::OkStatus();
  }
  return StatusFromRpc(status);
}

}  // namespace thb::grpc_call
