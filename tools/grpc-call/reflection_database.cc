#include "tools/grpc-call/reflection_database.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/status.h"
#include "grpcpp/support/time.h"

namespace thb::grpc_call {
namespace {

absl::Status FromRpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// The well-known types are in every protobuf runtime, this one included.
bool FindCompiledIn(const google::protobuf::FileDescriptor* file,
                    google::protobuf::FileDescriptorProto* output) {
  if (file == nullptr) return false;
  file->CopyTo(output);
  return true;
}

std::string Qualify(absl::string_view scope, absl::string_view name) {
  return scope.empty() ? std::string(name) : absl::StrCat(scope, ".", name);
}

bool IsWithin(absl::string_view symbol, absl::string_view scope) {
  return symbol.size() > scope.size() && absl::StartsWith(symbol, scope) &&
         symbol[scope.size()] == '.';
}

bool EnumDefines(const google::protobuf::EnumDescriptorProto& type,
                 absl::string_view scope, absl::string_view symbol) {
  if (symbol == Qualify(scope, type.name())) return true;
  // Enum values are siblings of their enum, not children.
  for (const auto& value : type.value()) {
    if (symbol == Qualify(scope, value.name())) return true;
  }
  return false;
}

bool MessageDefines(const google::protobuf::DescriptorProto& message,
                    absl::string_view scope, absl::string_view symbol) {
  const std::string name = Qualify(scope, message.name());
  if (symbol == name) return true;
  if (!IsWithin(symbol, name)) return false;
  for (const auto& field : message.field()) {
    if (symbol == Qualify(name, field.name())) return true;
  }
  for (const auto& extension : message.extension()) {
    if (symbol == Qualify(name, extension.name())) return true;
  }
  for (const auto& oneof : message.oneof_decl()) {
    if (symbol == Qualify(name, oneof.name())) return true;
  }
  for (const auto& type : message.enum_type()) {
    if (EnumDefines(type, name, symbol)) return true;
  }
  for (const auto& nested : message.nested_type()) {
    if (MessageDefines(nested, name, symbol)) return true;
  }
  return false;
}

// Some servers answer with more files than the one asked for, in no
// particular order (grpc/grpc#18009: a C++ server sends back every file it
// sent before on the stream), so the file with the symbol is searched for.
bool Defines(const google::protobuf::FileDescriptorProto& file,
             absl::string_view symbol) {
  const std::string& package = file.package();
  if (!package.empty() && !IsWithin(symbol, package)) return false;
  for (const auto& message : file.message_type()) {
    if (MessageDefines(message, package, symbol)) return true;
  }
  for (const auto& type : file.enum_type()) {
    if (EnumDefines(type, package, symbol)) return true;
  }
  for (const auto& extension : file.extension()) {
    if (symbol == Qualify(package, extension.name())) return true;
  }
  for (const auto& service : file.service()) {
    const std::string name = Qualify(package, service.name());
    if (symbol == name) return true;
    if (!IsWithin(symbol, name)) continue;
    for (const auto& method : service.method()) {
      if (symbol == Qualify(name, method.name())) return true;
    }
  }
  return false;
}

}  // namespace

ReflectionDatabase::ReflectionDatabase(std::shared_ptr<grpc::Channel> channel,
                                       absl::Time deadline)
    : stub_(grpc::reflection::v1alpha::ServerReflection::NewStub(
          std::move(channel))),
      deadline_(deadline) {}

ReflectionDatabase::~ReflectionDatabase() {
  // A broken stream was finished when it broke.
  if (stream_ == nullptr || !stream_status_.ok()) return;
  stream_->WritesDone();
  stream_->Finish();
}

absl::StatusOr<ReflectionDatabase::Response> ReflectionDatabase::Ask(
    const Request& request) {
  if (!stream_status_.ok()) return stream_status_;
  if (stream_ == nullptr) {
    context_.set_deadline(absl::ToChronoTime(deadline_));
    stream_ = stub_->ServerReflectionInfo(&context_);
  }
  Response response;
  if (!stream_->Write(request) || !stream_->Read(&response)) {
    absl::Status status = FromRpc(stream_->Finish());
    if (status.ok()) {
      status = absl::UnavailableError("the server ended the reflection stream");
    }
    stream_status_ = absl::Status(
        status.code(),
        absl::StrCat("server reflection failed: ", status.message()));
    return stream_status_;
  }
  if (response.has_error_response()) {
    return absl::Status(
        static_cast<absl::StatusCode>(response.error_response().error_code()),
        response.error_response().error_message());
  }
  return response;
}

std::vector<const google::protobuf::FileDescriptorProto*>
ReflectionDatabase::KeepFiles(const Response& response) {
  std::vector<const google::protobuf::FileDescriptorProto*> kept;
  for (const std::string& serialized :
       response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    if (!file.ParseFromString(serialized)) continue;
    std::string name = file.name();
    kept.push_back(
        &files_.try_emplace(std::move(name), std::move(file)).first->second);
  }
  return kept;
}

absl::StatusOr<std::vector<std::string>> ReflectionDatabase::ListServices() {
  Request request;
  request.set_list_services("");
  absl::StatusOr<Response> response = Ask(request);
  if (!response.ok()) return response.status();
  std::vector<std::string> names;
  for (const auto& service : response->list_services_response().service()) {
    names.push_back(service.name());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool ReflectionDatabase::FindFileByName(
    const std::string& filename,
    google::protobuf::FileDescriptorProto* output) {
  if (auto it = files_.find(filename); it != files_.end()) {
    *output = it->second;
    return true;
  }
  Request request;
  request.set_file_by_filename(filename);
  if (absl::StatusOr<Response> response = Ask(request); response.ok()) {
    KeepFiles(*response);
    if (auto it = files_.find(filename); it != files_.end()) {
      *output = it->second;
      return true;
    }
  }
  return FindCompiledIn(
      google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
          filename),
      output);
}

bool ReflectionDatabase::FindFileContainingSymbol(
    const std::string& symbol_name,
    google::protobuf::FileDescriptorProto* output) {
  if (unknown_symbols_.contains(symbol_name)) return false;
  Request request;
  request.set_file_containing_symbol(symbol_name);
  if (absl::StatusOr<Response> response = Ask(request); response.ok()) {
    for (const auto* file : KeepFiles(*response)) {
      if (Defines(*file, symbol_name)) {
        *output = *file;
        return true;
      }
    }
  }
  // Without a working stream, answering from the compiled-in types would
  // describe a server nobody asked.
  if (stream_status_.ok() &&
      FindCompiledIn(google::protobuf::DescriptorPool::generated_pool()
                         ->FindFileContainingSymbol(symbol_name),
                     output)) {
    return true;
  }
  unknown_symbols_.insert(symbol_name);
  return false;
}

bool ReflectionDatabase::FindFileContainingExtension(
    const std::string& containing_type, int field_number,
    google::protobuf::FileDescriptorProto* output) {
  Request request;
  request.mutable_file_containing_extension()->set_containing_type(
      containing_type);
  request.mutable_file_containing_extension()->set_extension_number(
      field_number);
  if (absl::StatusOr<Response> response = Ask(request); response.ok()) {
    for (const auto* file : KeepFiles(*response)) {
      for (const auto& extension : file->extension()) {
        if (extension.number() == field_number &&
            absl::StripPrefix(extension.extendee(), ".") == containing_type) {
          *output = *file;
          return true;
        }
      }
    }
  }
  return false;
}

}  // namespace thb::grpc_call
