#include "tools/grpc-call/status_details.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/json_util.h"

namespace thb::grpc_call {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// google.rpc.Status { int32 code = 1; string message = 2;
//                     repeated google.protobuf.Any details = 3; }
// This binary compiles no google.rpc types, and code and message are already
// known from the trailers: only the details field is read, from the wire.
constexpr int kStatusDetailsField = 3;

const FieldDescriptor* FindField(const Message& message, absl::string_view name,
                                 FieldDescriptor::CppType type, bool repeated) {
  const FieldDescriptor* field =
      message.GetDescriptor()->FindFieldByName(std::string(name));
  if (field == nullptr || field->cpp_type() != type ||
      field->is_repeated() != repeated) {
    return nullptr;
  }
  return field;
}

std::string StringField(const Message& message, absl::string_view name) {
  const FieldDescriptor* field =
      FindField(message, name, FieldDescriptor::CPPTYPE_STRING, false);
  return field == nullptr ? ""
                          : message.GetReflection()->GetString(message, field);
}

// google.rpc.BadRequest, one line per field violation; false if `detail`
// does not have its shape.
bool DescribeBadRequest(const Message& detail,
                        std::vector<std::string>& lines) {
  const FieldDescriptor* violations = FindField(
      detail, "field_violations", FieldDescriptor::CPPTYPE_MESSAGE, true);
  if (violations == nullptr) return false;
  const auto* reflection = detail.GetReflection();
  for (int i = 0; i < reflection->FieldSize(detail, violations); ++i) {
    const Message& violation =
        reflection->GetRepeatedMessage(detail, violations, i);
    lines.push_back(absl::StrCat("  field ", StringField(violation, "field"),
                                 ": ", StringField(violation, "description")));
  }
  return true;
}

// google.rpc.ErrorInfo as one line, metadata sorted by key.
bool DescribeErrorInfo(const Message& detail, std::vector<std::string>& lines) {
  const FieldDescriptor* metadata =
      FindField(detail, "metadata", FieldDescriptor::CPPTYPE_MESSAGE, true);
  if (metadata == nullptr ||
      FindField(detail, "reason", FieldDescriptor::CPPTYPE_STRING, false) ==
          nullptr) {
    return false;
  }
  std::vector<std::pair<std::string, std::string>> entries;
  const auto* reflection = detail.GetReflection();
  for (int i = 0; i < reflection->FieldSize(detail, metadata); ++i) {
    const Message& entry = reflection->GetRepeatedMessage(detail, metadata, i);
    entries.emplace_back(StringField(entry, "key"),
                         StringField(entry, "value"));
  }
  std::sort(entries.begin(), entries.end());
  std::string line =
      absl::StrCat("  reason ", StringField(detail, "reason"), " (domain ",
                   StringField(detail, "domain"), ")");
  for (const auto& [key, value] : entries) {
    absl::StrAppend(&line, " ", key, "=", value);
  }
  lines.push_back(std::move(line));
  return true;
}

void DescribeDetail(const google::protobuf::Any& any,
                    const google::protobuf::DescriptorPool& pool,
                    google::protobuf::DynamicMessageFactory& factory,
                    std::vector<std::string>& lines) {
  absl::string_view type_url = any.type_url();
  absl::string_view type_name = type_url.substr(type_url.rfind('/') + 1);
  const Descriptor* type = pool.FindMessageTypeByName(std::string(type_name));
  std::unique_ptr<Message> detail;
  if (type != nullptr) {
    detail.reset(factory.GetPrototype(type)->New());
    if (!detail->ParseFromString(any.value())) detail.reset();
  }
  if (detail == nullptr) {
    lines.push_back(absl::StrCat("  ", type_url, " (", any.value().size(),
                                 " bytes the server did not describe)"));
    return;
  }
  if (type->full_name() == "google.rpc.BadRequest" &&
      DescribeBadRequest(*detail, lines)) {
    return;
  }
  if (type->full_name() == "google.rpc.ErrorInfo" &&
      DescribeErrorInfo(*detail, lines)) {
    return;
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(*detail, &json).ok()) {
    json = detail->ShortDebugString();
  }
  lines.push_back(absl::StrCat("  ", type->full_name(), " ", json));
}

}  // namespace

std::vector<std::string> DescribeStatusDetails(
    const std::string& serialized_status,
    const google::protobuf::DescriptorPool& pool) {
  std::vector<std::string> lines;
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(serialized_status)) {
    lines.push_back("  (the error details are not a google.rpc.Status)");
    return lines;
  }
  google::protobuf::DynamicMessageFactory factory(&pool);
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& field = fields.field(i);
    if (field.number() != kStatusDetailsField ||
        field.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    google::protobuf::Any any;
    if (any.ParseFromString(field.length_delimited())) {
      DescribeDetail(any, pool, factory, lines);
    }
  }
  return lines;
}

}  // namespace thb::grpc_call
