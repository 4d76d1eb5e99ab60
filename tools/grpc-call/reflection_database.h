#ifndef THB_TOOLS_GRPC_CALL_REFLECTION_DATABASE_H_
#define THB_TOOLS_GRPC_CALL_REFLECTION_DATABASE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/sync_stream.h"

namespace thb::grpc_call {

// A DescriptorDatabase answered by a server's reflection service. A
// DescriptorPool built on it fetches only the files a command touches, and
// pulls in their dependencies in the order it needs them.
//
// One reflection stream, opened on the first lookup and bounded by
// `deadline`, serves every lookup. When a file is not on the server (a server
// may leave out the well-known types), the copy compiled into this binary is
// used instead.
class ReflectionDatabase : public google::protobuf::DescriptorDatabase {
 public:
  ReflectionDatabase(std::shared_ptr<grpc::Channel> channel,
                     absl::Time deadline);
  ReflectionDatabase(const ReflectionDatabase&) = delete;
  ReflectionDatabase& operator=(const ReflectionDatabase&) = delete;
  ~ReflectionDatabase() override;

  // The fully-qualified names of the services the server exposes, sorted.
  absl::StatusOr<std::vector<std::string>> ListServices();

  // OK while the stream works. Once it broke (server unreachable, reflection
  // not enabled, deadline) every lookup fails, and this says why: a pool
  // lookup only reports "not found".
  const absl::Status& stream_status() const { return stream_status_; }

  bool FindFileByName(const std::string& filename,
                      google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingSymbol(
      const std::string& symbol_name,
      google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingExtension(
      const std::string& containing_type, int field_number,
      google::protobuf::FileDescriptorProto* output) override;

 private:
  using Request = grpc::reflection::v1alpha::ServerReflectionRequest;
  using Response = grpc::reflection::v1alpha::ServerReflectionResponse;

  // One request, one response. A server-side error (e.g. an unknown symbol)
  // is returned as the status of its ErrorResponse.
  absl::StatusOr<Response> Ask(const Request& request);
  // Keeps every file of a response, since servers send a file together with
  // its dependencies; returns them all.
  std::vector<const google::protobuf::FileDescriptorProto*> KeepFiles(
      const Response& response);

  std::unique_ptr<grpc::reflection::v1alpha::ServerReflection::Stub> stub_;
  absl::Time deadline_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
  absl::Status stream_status_;
  // Node-based: KeepFiles hands out pointers to the files.
  absl::node_hash_map<std::string, google::protobuf::FileDescriptorProto>
      files_;
  // A pool asks again for every failed lookup; the server's answer won't
  // change within one command.
  absl::flat_hash_set<std::string> unknown_symbols_;
};

}  // namespace thb::grpc_call

#endif  // THB_TOOLS_GRPC_CALL_REFLECTION_DATABASE_H_
