#include "common/authz_policy.h"

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/authz_rule.h"
#include "common/errors.h"
#include "common/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace thb {
namespace {

using authz_internal::HasPrefix;
using authz_internal::HeaderRequirement;
using authz_internal::PatternSet;
using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

// Header keys gRPC's policy translator refuses: they describe the connection
// or the transport rather than the call, so a rule on them would not mean
// what it says. Pseudo-headers (":path") and "grpc-" headers are refused by
// prefix.
constexpr std::string_view kRefusedHeaderKeys[] = {"host",
                                                   "connection",
                                                   "keep-alive",
                                                   "proxy-authenticate",
                                                   "proxy-authorization",
                                                   "te",
                                                   "trailer",
                                                   "transfer-encoding",
                                                   "upgrade"};

}  // namespace

namespace {

std::string_view KindName(const Value& value) {
  switch (value.kind_case()) {
    case Value::kNullValue:
      return "null";
    case Value::kNumberValue:
      return "a number";
    case Value::kStringValue:
      return "a string";
    case Value::kBoolValue:
      return "a boolean";
    case Value::kStructValue:
      return "an object";
    case Value::kListValue:
      return "an array";
    case Value::KIND_NOT_SET:
      break;
  }
  return "nothing";
}

absl::Status WrongType(std::string_view path, std::string_view expected,
                       const Value& value) {
  return InvalidArgument(path, absl::StrCat("must be ", ToAbsl(expected),
                                            ", not ", ToAbsl(KindName(value))));
}

std::string FieldPath(std::string_view parent, std::string_view field) {
  if (parent.empty()) return std::string(field);
  return absl::StrCat(ToAbsl(parent), ".", ToAbsl(field));
}

std::string ElementPath(std::string_view list, size_t index) {
  return absl::StrCat(ToAbsl(list), "[", index, "]");
}

// Like gRPC, a field the format does not define is an error, not ignored: a
// misspelt "principal" must not turn a rule into one that matches everyone.
absl::Status CheckFieldNames(const Struct& object, std::string_view path,
                             std::initializer_list<std::string_view> known) {
  std::vector<std::string_view> unknown;
  for (const auto& [key, value] : object.fields()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      unknown.push_back(key);
    }
  }
  if (unknown.empty()) return absl::OkStatus();
  // The map is unordered; the first in sort order keeps the message stable.
  std::sort(unknown.begin(), unknown.end());
  std::vector<std::string> names(known.begin(), known.end());
  return InvalidArgument(FieldPath(path, ShownValue(unknown.front())),
                         absl::StrCat("unknown field (known here: ",
                                      absl::StrJoin(names, ", "), ")"));
}

const Value* FindField(const Struct& object, std::string_view key) {
  auto it = object.fields().find(std::string(key));
  return it == object.fields().end() ? nullptr : &it->second;
}

// The one place kMaxAuthzStringBytes is enforced: every string of a policy
// is read through here.
absl::StatusOr<std::string_view> GetString(const Value& value,
                                           std::string_view path) {
  if (value.kind_case() != Value::kStringValue) {
    return WrongType(path, "a string", value);
  }
  const std::string& text = value.string_value();
  if (text.size() > kMaxAuthzStringBytes) {
    return InvalidArgument(path, absl::StrCat(text.size(), " bytes, at most ",
                                              kMaxAuthzStringBytes));
  }
  return std::string_view(text);
}

absl::StatusOr<const ListValue*> GetList(const Value& value,
                                         std::string_view path) {
  if (value.kind_case() != Value::kListValue) {
    return WrongType(path, "an array", value);
  }
  return &value.list_value();
}

absl::StatusOr<const Struct*> GetObject(const Value& value,
                                        std::string_view path) {
  if (value.kind_case() != Value::kStructValue) {
    return WrongType(path, "an object", value);
  }
  return &value.struct_value();
}

// Whether arrays and objects nest deeper than `limit` in `json`, looking
// only at brackets outside strings; malformed JSON is left to the parser.
bool NestsDeeperThan(std::string_view json, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

bool IsRefusedHeaderKey(std::string_view key) {
  if (HasPrefix(key, ":") || HasPrefix(key, "grpc-")) return true;
  return std::find(std::begin(kRefusedHeaderKeys), std::end(kRefusedHeaderKeys),
                   key) != std::end(kRefusedHeaderKeys);
}

}  // namespace

class AuthzPolicyParser {
 public:
  absl::StatusOr<AuthzPolicy> Parse(std::string_view json) {
    if (json.size() > kMaxAuthzPolicyBytes) {
      return InvalidArgument(
          "policy",
          absl::StrCat(json.size(), " bytes, at most ", kMaxAuthzPolicyBytes));
    }
    if (NestsDeeperThan(json, kMaxAuthzJsonDepth)) {
      return InvalidArgument("policy",
                             absl::StrCat("arrays and objects nest more than ",
                                          kMaxAuthzJsonDepth, " deep"));
    }
    Value root;
    if (const auto status = google::protobuf::util::JsonStringToMessage(
            google::protobuf::StringPiece(json.data(), json.size()), &root);
        !status.ok()) {
      return InvalidArgument(
          "policy",
          // The parser quotes the input, which may not be UTF-8.
          absl::StrCat("not valid JSON: ",
                       ShownValue(status.message().ToString(), 200)));
    }
    if (root.kind_case() != Value::kStructValue) {
      return WrongType("policy", "a JSON object", root);
    }
    const Struct& object = root.struct_value();
    if (FindField(object, "audit_logging_options") != nullptr) {
      return InvalidArgument(
          "audit_logging_options",
          "not supported: thb writes its own audit log and runs no gRPC "
          "audit logger");
    }
    if (absl::Status status =
            CheckFieldNames(object, "", {"name", "deny_rules", "allow_rules"});
        !status.ok()) {
      return status;
    }

    AuthzPolicy policy;
    const Value* name = FindField(object, "name");
    if (name == nullptr) return InvalidArgument("name", "is required");
    absl::StatusOr<std::string_view> name_text = GetString(*name, "name");
    if (!name_text.ok()) return name_text.status();
    policy.name_ = std::string(*name_text);

    const Value* allow_rules = FindField(object, "allow_rules");
    if (allow_rules == nullptr) {
      return InvalidArgument("allow_rules", "is required");
    }
    if (const Value* deny_rules = FindField(object, "deny_rules");
        deny_rules != nullptr) {
      if (absl::Status status =
              ParseRules(*deny_rules, "deny_rules", &policy.deny_rules_);
          !status.ok()) {
        return status;
      }
    }
    if (absl::Status status =
            ParseRules(*allow_rules, "allow_rules", &policy.allow_rules_);
        !status.ok()) {
      return status;
    }
    return policy;
  }

 private:
  using Rule = AuthzPolicy::Rule;

  absl::Status ParseRules(const Value& value, std::string_view path,
                          std::vector<Rule>* rules) {
    absl::StatusOr<const ListValue*> list = GetList(value, path);
    if (!list.ok()) return list.status();
    // gRPC refuses an empty list too: an empty allow_rules would deny every
    // call, which is better said by not serving at all.
    if ((*list)->values().empty()) {
      return InvalidArgument(path, "must not be empty");
    }
    absl::flat_hash_map<std::string, size_t> index_by_name;
    for (int i = 0; i < (*list)->values_size(); ++i) {
      const std::string rule_path = ElementPath(path, i);
      if (++rule_count_ > kMaxAuthzRules) {
        return InvalidArgument(
            rule_path,
            absl::StrCat("more than ", kMaxAuthzRules,
                         " rules in deny_rules and allow_rules together"));
      }
      Rule rule;
      if (absl::Status status = ParseRule((*list)->values(i), rule_path, &rule);
          !status.ok()) {
        return status;
      }
      // gRPC keeps rules in a map by name, so a second rule of the same name
      // silently replaces the first; refusing it is the safer reading.
      const auto [it, inserted] =
          index_by_name.emplace(rule.name, static_cast<size_t>(i));
      if (!inserted) {
        return InvalidArgument(
            FieldPath(rule_path, "name"),
            absl::StrCat(QuotedValue(rule.name), " is already the name of ",
                         ElementPath(path, it->second)));
      }
      rules->push_back(std::move(rule));
    }
    return absl::OkStatus();
  }

  absl::Status ParseRule(const Value& value, const std::string& path,
                         Rule* rule) {
    absl::StatusOr<const Struct*> object = GetObject(value, path);
    if (!object.ok()) return object.status();
    if (absl::Status status =
            CheckFieldNames(**object, path, {"name", "source", "request"});
        !status.ok()) {
      return status;
    }
    const std::string name_path = FieldPath(path, "name");
    const Value* name = FindField(**object, "name");
    if (name == nullptr) return InvalidArgument(name_path, "is required");
    absl::StatusOr<std::string_view> name_text = GetString(*name, name_path);
    if (!name_text.ok()) return name_text.status();
    if (name_text->empty()) {
      return InvalidArgument(name_path, "must not be empty");
    }
    rule->name = std::string(*name_text);

    matcher_count_ = 0;
    if (const Value* source = FindField(**object, "source");
        source != nullptr) {
      if (absl::Status status =
              ParseSource(*source, FieldPath(path, "source"), rule);
          !status.ok()) {
        return status;
      }
    }
    if (const Value* request = FindField(**object, "request");
        request != nullptr) {
      if (absl::Status status =
              ParseRequest(*request, FieldPath(path, "request"), rule);
          !status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  }

  absl::Status ParseSource(const Value& value, const std::string& path,
                           Rule* rule) {
    absl::StatusOr<const Struct*> object = GetObject(value, path);
    if (!object.ok()) return object.status();
    if (absl::Status status = CheckFieldNames(**object, path, {"principals"});
        !status.ok()) {
      return status;
    }
    if (const Value* principals = FindField(**object, "principals");
        principals != nullptr) {
      return ParsePatterns(*principals, FieldPath(path, "principals"),
                           &rule->principals);
    }
    return absl::OkStatus();
  }

  absl::Status ParseRequest(const Value& value, const std::string& path,
                            Rule* rule) {
    absl::StatusOr<const Struct*> object = GetObject(value, path);
    if (!object.ok()) return object.status();
    if (absl::Status status =
            CheckFieldNames(**object, path, {"paths", "headers"});
        !status.ok()) {
      return status;
    }
    if (const Value* paths = FindField(**object, "paths"); paths != nullptr) {
      if (absl::Status status =
              ParsePatterns(*paths, FieldPath(path, "paths"), &rule->paths);
          !status.ok()) {
        return status;
      }
    }
    if (const Value* headers = FindField(**object, "headers");
        headers != nullptr) {
      const std::string headers_path = FieldPath(path, "headers");
      absl::StatusOr<const ListValue*> list = GetList(*headers, headers_path);
      if (!list.ok()) return list.status();
      for (int i = 0; i < (*list)->values_size(); ++i) {
        HeaderRequirement header;
        if (absl::Status status = ParseHeader(
                (*list)->values(i), ElementPath(headers_path, i), &header);
            !status.ok()) {
          return status;
        }
        rule->headers.push_back(std::move(header));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ParseHeader(const Value& value, const std::string& path,
                           HeaderRequirement* header) {
    absl::StatusOr<const Struct*> object = GetObject(value, path);
    if (!object.ok()) return object.status();
    if (absl::Status status =
            CheckFieldNames(**object, path, {"key", "values"});
        !status.ok()) {
      return status;
    }
    const std::string key_path = FieldPath(path, "key");
    const Value* key = FindField(**object, "key");
    if (key == nullptr) return InvalidArgument(key_path, "is required");
    absl::StatusOr<std::string_view> key_text = GetString(*key, key_path);
    if (!key_text.ok()) return key_text.status();
    if (key_text->empty())
      return InvalidArgument(key_path, "must not be empty");
    // Requests carry lower-case keys (HTTP/2), so a key is matched as such.
    header->key = absl::AsciiStrToLower(ToAbsl(*key_text));
    if (IsRefusedHeaderKey(header->key)) {
      return InvalidArgument(
          key_path,
          absl::StrCat(QuotedValue(*key_text),
                       " cannot be matched: pseudo-headers, grpc- headers, "
                       "host and hop-by-hop headers are refused"));
    }
    const std::string values_path = FieldPath(path, "values");
    const Value* values = FindField(**object, "values");
    if (values == nullptr) return InvalidArgument(values_path, "is required");
    absl::StatusOr<const ListValue*> list = GetList(*values, values_path);
    if (!list.ok()) return list.status();
    if ((*list)->values().empty()) {
      return InvalidArgument(values_path, "must not be empty");
    }
    return ParsePatterns(*values, values_path, &header->values);
  }

  absl::Status ParsePatterns(const Value& value, const std::string& path,
                             PatternSet* patterns) {
    absl::StatusOr<const ListValue*> list = GetList(value, path);
    if (!list.ok()) return list.status();
    for (int i = 0; i < (*list)->values_size(); ++i) {
      const std::string pattern_path = ElementPath(path, i);
      absl::StatusOr<std::string_view> pattern =
          GetString((*list)->values(i), pattern_path);
      if (!pattern.ok()) return pattern.status();
      // The one place kMaxAuthzMatchersPerRule is enforced: every pattern of
      // a rule is added here.
      if (++matcher_count_ > kMaxAuthzMatchersPerRule) {
        return InvalidArgument(
            pattern_path,
            absl::StrCat("more than ", kMaxAuthzMatchersPerRule,
                         " principals, paths and header values in one rule"));
      }
      patterns->Add(*pattern);
    }
    return absl::OkStatus();
  }

  size_t rule_count_ = 0;
  size_t matcher_count_ = 0;
};

AuthzPolicy::AuthzPolicy() = default;
AuthzPolicy::AuthzPolicy(const AuthzPolicy&) = default;
AuthzPolicy::AuthzPolicy(AuthzPolicy&&) noexcept = default;
AuthzPolicy& AuthzPolicy::operator=(const AuthzPolicy&) = default;
AuthzPolicy& AuthzPolicy::operator=(AuthzPolicy&&) noexcept = default;
AuthzPolicy::~AuthzPolicy() = default;

absl::StatusOr<AuthzPolicy> AuthzPolicy::Parse(std::string_view json) {
  return AuthzPolicyParser().Parse(json);
}

absl::StatusOr<AuthzPolicy> AuthzPolicy::FromFile(const std::string& path) {
  const auto unreadable = [&path] {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the authorization policy file \"",
                     ShownValue(path, 1024), "\""));
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable();
  // One byte over the bound is enough for Parse to refuse the file.
  std::string json(kMaxAuthzPolicyBytes + 1, '\0');
  in.read(json.data(), static_cast<std::streamsize>(json.size()));
  if (in.bad()) return unreadable();
  json.resize(static_cast<size_t>(in.gcount()));
  return Parse(json);
}

size_t AuthzPolicy::deny_rule_count() const { return deny_rules_.size(); }

size_t AuthzPolicy::allow_rule_count() const { return allow_rules_.size(); }

AuthzDecision AuthzPolicy::Evaluate(const AuthzRequest& request) const {
  AuthzDecision decision;
  for (const Rule& rule : deny_rules_) {
    if (rule.Matches(request)) {
      decision.rule = rule.name;
      return decision;
    }
  }
  for (const Rule& rule : allow_rules_) {
    if (rule.Matches(request)) {
      decision.allowed = true;
      decision.rule = rule.name;
      return decision;
    }
  }
  return decision;
}

}  // namespace thb
