#include "tools/grpc-call/commands.h"

#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/tls.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "tools/grpc-call/generic_call.h"
#include "tools/grpc-call/reflection_database.h"
#include "tools/grpc-call/status_details.h"

namespace thb::grpc_call {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

constexpr absl::string_view kHealthCheckMethod = "/grpc.health.v1.Health/Check";
// grpc.health.v1.HealthCheckRequest.service and HealthCheckResponse.status.
// Health needs no reflection: a probe must work on servers without it.
constexpr int kHealthServiceField = 1;
constexpr int kHealthStatusField = 1;
constexpr absl::string_view kServingStatusNames[] = {
    "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
constexpr uint64_t kServing = 1;

// Keeps what goes wrong while building the server's files into the pool, so
// that a failed lookup can say more than "not found".
class BuildErrors : public DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const Message* /*descriptor*/, ErrorLocation /*location*/,
                const std::string& message) override {
    errors_.push_back(
        absl::StrCat(filename, ": ", element_name, ": ", message));
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

absl::Status WrongArguments(absl::string_view usage) {
  return absl::InvalidArgumentError(absl::StrCat("usage: ", usage));
}

class Session {
 public:
  Session(const std::string& address, const Options& options)
      : options_(options),
        deadline_(absl::Now() + options.timeout),
        channel_(grpc::CreateChannel(address, options.credentials)),
        database_(channel_, deadline_),
        pool_(&database_, &build_errors_),
        factory_(&pool_) {}

  absl::Status Run(absl::string_view command,
                   const std::vector<std::string>& args, std::ostream& out) {
    if (command == "list") return List(args, out);
    if (command == "describe") return Describe(args, out);
    if (command == "call") return Call(args, out);
    if (command == "health") return Health(args, out);
    return absl::InvalidArgumentError(
        absl::StrCat("unknown command \"", command,
                     "\"; expected list, describe, call or health"));
  }

  std::vector<std::string> DescribeDetails(const std::string& status) const {
    return DescribeStatusDetails(status, pool_);
  }

 private:
  absl::Status List(const std::vector<std::string>& args, std::ostream& out) {
    if (args.size() > 1) return WrongArguments("ADDRESS list [SERVICE]");
    if (args.size() == 1) {
      absl::StatusOr<const ServiceDescriptor*> service = FindService(args[0]);
      if (!service.ok()) return service.status();
      for (int i = 0; i < (*service)->method_count(); ++i) {
        out << (*service)->method(i)->full_name() << "\n";
      }
      return absl::OkStatus();
    }
    absl::StatusOr<std::vector<std::string>> services =
        database_.ListServices();
    if (!services.ok()) return services.status();
    for (const std::string& service : *services) out << service << "\n";
    return absl::OkStatus();
  }

  absl::Status Describe(const std::vector<std::string>& args,
                        std::ostream& out) {
    if (args.size() != 1) return WrongArguments("ADDRESS describe SYMBOL");
    // "Service/Method", as in a call, names the method "Service.Method".
    const std::string symbol = absl::StrReplaceAll(args[0], {{"/", "."}});
    if (const ServiceDescriptor* service = pool_.FindServiceByName(symbol)) {
      return PrintDescriptor<google::protobuf::ServiceDescriptorProto>(*service,
                                                                       out);
    }
    if (const Descriptor* message = pool_.FindMessageTypeByName(symbol)) {
      return PrintDescriptor<google::protobuf::DescriptorProto>(*message, out);
    }
    if (const EnumDescriptor* type = pool_.FindEnumTypeByName(symbol)) {
      return PrintDescriptor<google::protobuf::EnumDescriptorProto>(*type, out);
    }
    if (const MethodDescriptor* method = pool_.FindMethodByName(symbol)) {
      return PrintDescriptor<google::protobuf::MethodDescriptorProto>(*method,
                                                                      out);
    }
    return LookupFailure("symbol", symbol);
  }

  absl::Status Call(const std::vector<std::string>& args, std::ostream& out) {
    if (args.empty() || args.size() > 2) {
      return WrongArguments("ADDRESS call SERVICE/METHOD [JSON|-]");
    }
    absl::StatusOr<const MethodDescriptor*> method = FindMethod(args[0]);
    if (!method.ok()) return method.status();

    std::string json = args.size() == 2 ? args[1] : "{}";
    if (json == "-") {
      json.assign(std::istreambuf_iterator<char>(std::cin),
                  std::istreambuf_iterator<char>());
    }
    std::unique_ptr<Message> request(
        factory_.GetPrototype((*method)->input_type())->New());
    if (auto parsed = google::protobuf::util::JsonStringToMessage(
            json, request.get(), google::protobuf::util::JsonParseOptions());
        !parsed.ok()) {
      // The parser appends an excerpt of the input on further lines; the
      // error stays on one line.
      const std::string reason = parsed.message().ToString();
      return absl::InvalidArgumentError(absl::StrCat(
          "the request is not a JSON ", (*method)->input_type()->full_name(),
          ": ", reason.substr(0, reason.find('\n'))));
    }

    const Message* prototype = factory_.GetPrototype((*method)->output_type());
    int64_t received = 0;
    absl::Status output_status;
    absl::Status status = CallMethod(
        channel_,
        absl::StrCat("/", (*method)->service()->full_name(), "/",
                     (*method)->name()),
        request->SerializeAsString(), deadline_, [&](const std::string& bytes) {
          std::unique_ptr<Message> response(prototype->New());
          if (!response->ParseFromString(bytes)) {
            output_status = absl::DataLossError(
                absl::StrCat("a response is not a valid ",
                             prototype->GetDescriptor()->full_name()));
            return false;
          }
          if (received > 0 && options_.format == OutputFormat::kText) {
            out << "\n";
          }
          output_status = Print(*response, out);
          ++received;
          return output_status.ok() && (options_.max_messages <= 0 ||
                                        received < options_.max_messages);
        });
    return status.ok() ? output_status : status;
  }

  absl::Status Health(const std::vector<std::string>& args, std::ostream& out) {
    if (args.size() > 1) return WrongArguments("ADDRESS health [SERVICE]");
    const std::string service = args.empty() ? "" : args[0];
    google::protobuf::UnknownFieldSet request;
    if (!service.empty()) {
      request.AddLengthDelimited(kHealthServiceField, service);
    }
    std::string request_bytes;
    request.SerializeToString(&request_bytes);

    uint64_t serving_status = 0;
    absl::Status status = CallMethod(
        channel_, std::string(kHealthCheckMethod), request_bytes, deadline_,
        [&](const std::string& bytes) {
          google::protobuf::UnknownFieldSet response;
          response.ParseFromString(bytes);
          for (int i = 0; i < response.field_count(); ++i) {
            const auto& field = response.field(i);
            if (field.number() == kHealthStatusField &&
                field.type() == google::protobuf::UnknownField::TYPE_VARINT) {
              serving_status = field.varint();
            }
          }
          return true;
        });
    if (!status.ok()) return status;

    const std::string name =
        serving_status < std::size(kServingStatusNames)
            ? std::string(kServingStatusNames[serving_status])
            : absl::StrCat(serving_status);
    out << name << "\n";
    if (serving_status == kServing) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat(
        service.empty() ? "the server" : absl::StrCat("service ", service),
        " is ", name));
  }

  absl::StatusOr<const ServiceDescriptor*> FindService(
      const std::string& name) {
    if (const ServiceDescriptor* service = pool_.FindServiceByName(name)) {
      return service;
    }
    return LookupFailure("service", name);
  }

  // "package.Service/Method", or "package.Service.Method".
  absl::StatusOr<const MethodDescriptor*> FindMethod(const std::string& name) {
    size_t split = name.rfind('/');
    if (split == std::string::npos) split = name.rfind('.');
    if (split == std::string::npos || split == 0 || split + 1 == name.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", name, "\" names no method; expected SERVICE/METHOD"));
    }
    absl::StatusOr<const ServiceDescriptor*> service =
        FindService(name.substr(0, split));
    if (!service.ok()) return service.status();
    const std::string method_name = name.substr(split + 1);
    if (const MethodDescriptor* method =
            (*service)->FindMethodByName(method_name)) {
      return method;
    }
    std::vector<std::string> methods;
    for (int i = 0; i < (*service)->method_count(); ++i) {
      methods.push_back((*service)->method(i)->name());
    }
    return absl::NotFoundError(
        absl::StrCat("service ", (*service)->full_name(), " has no method ",
                     method_name, "; it has ", absl::StrJoin(methods, ", ")));
  }

  // Why the pool found nothing: a broken reflection stream, files that did
  // not build, or a name the server does not know.
  absl::Status LookupFailure(absl::string_view kind, absl::string_view name) {
    if (!database_.stream_status().ok()) return database_.stream_status();
    if (!build_errors_.errors().empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the server's descriptors for ", name,
          " do not build: ", absl::StrJoin(build_errors_.errors(), "; ")));
    }
    return absl::NotFoundError(
        absl::StrCat("the server knows no ", kind, " ", name));
  }

  template <typename DescriptorProto, typename DescriptorType>
  absl::Status PrintDescriptor(const DescriptorType& descriptor,
                               std::ostream& out) {
    if (options_.format == OutputFormat::kText) {
      out << descriptor.DebugString();
      return absl::OkStatus();
    }
    DescriptorProto proto;
    descriptor.CopyTo(&proto);
    return Print(proto, out);
  }

  absl::Status Print(const Message& message, std::ostream& out) {
    std::string text;
    if (options_.format == OutputFormat::kText) {
      google::protobuf::TextFormat::Printer printer;
      printer.SetExpandAny(true);
      printer.PrintToString(message, &text);
    } else {
      google::protobuf::util::JsonPrintOptions json_options;
      json_options.add_whitespace = true;
      json_options.preserve_proto_field_names = options_.proto_names;
      json_options.always_print_primitive_fields = options_.emit_defaults;
      if (auto printed = google::protobuf::util::MessageToJsonString(
              message, &text, json_options);
          !printed.ok()) {
        return absl::InternalError(
            absl::StrCat("cannot print a ", message.GetTypeName(),
                         " as JSON: ", printed.message().ToString()));
      }
      if (!absl::EndsWith(text, "\n")) text += "\n";
    }
    // Flushed per message: a stream may run for as long as the deadline.
    out << text << std::flush;
    return absl::OkStatus();
  }

  const Options& options_;
  const absl::Time deadline_;
  std::shared_ptr<grpc::Channel> channel_;
  ReflectionDatabase database_;
  BuildErrors build_errors_;
  DescriptorPool pool_;
  google::protobuf::DynamicMessageFactory factory_;
};

}  // namespace

bool AbslParseFlag(absl::string_view text, OutputFormat* format,
                   std::string* error) {
  if (text == "json") {
    *format = OutputFormat::kJson;
    return true;
  }
  if (text == "text") {
    *format = OutputFormat::kText;
    return true;
  }
  *error = "expected json or text";
  return false;
}

std::string AbslUnparseFlag(OutputFormat format) {
  return format == OutputFormat::kText ? "text" : "json";
}

int Run(const std::vector<std::string>& args, const Options& options,
        std::ostream& out, std::ostream& err) {
  absl::Status status;
  std::optional<Session> session;
  if (args.size() < 2) {
    status = WrongArguments("ADDRESS COMMAND [ARG...]; see --help");
  } else {
    session.emplace(args[0], options);
    status = session->Run(args[1], {args.begin() + 2, args.end()}, out);
  }
  if (status.ok()) return 0;

  err << "ERROR: " << absl::StatusCodeToString(status.code()) << ": "
      << status.message() << "\n";
  // absl::optional, which this Abseil build does not alias to std::optional.
  if (auto details = status.GetPayload(kStatusDetailsPayload);
      details.has_value() && session.has_value()) {
    for (const std::string& line :
         session->DescribeDetails(std::string(*details))) {
      err << line << "\n";
    }
  }
  if (const std::string hint =
          SecurityHint(static_cast<grpc::StatusCode>(status.code()),
                       std::string(status.message()));
      !hint.empty()) {
    err << "hint: " << hint << "\n";
  }
  return static_cast<int>(status.code());
}

}  // namespace thb::grpc_call
