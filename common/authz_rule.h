#ifndef THB_COMMON_AUTHZ_RULE_H_
#define THB_COMMON_AUTHZ_RULE_H_

// How one rule of an authorization policy matches a call, compiled from the
// policy by common/authz_policy.cc. Not for use outside it.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "common/authz_policy.h"
#include "common/string_view.h"

namespace thb {
namespace authz_internal {

using HeaderList = std::vector<std::pair<std::string_view, std::string_view>>;

// The occurrences of one header key as gRPC matches them: their values
// joined by "," in request order. The joined string is never built, so
// matching allocates nothing.
class JoinedHeader {
 public:
  JoinedHeader(const HeaderList& headers, std::string_view key)
      : headers_(headers), key_(key) {
    for (const auto& [name, value] : headers_) {
      if (name != key_) continue;
      if (count_ == 0) first_ = value;
      ++count_;
      size_ += value.size();
    }
    if (count_ > 1) size_ += count_ - 1;
  }

  size_t count() const { return count_; }
  size_t size() const { return size_; }
  // The value when the key occurs once.
  std::string_view first() const { return first_; }

  bool StartsWith(std::string_view prefix) const {
    size_t matched = 0;
    bool separator = false;
    for (const auto& [name, value] : headers_) {
      if (name != key_) continue;
      if (matched == prefix.size()) return true;
      if (separator) {
        if (prefix[matched] != ',') return false;
        ++matched;
      }
      separator = true;
      const size_t n = std::min(value.size(), prefix.size() - matched);
      if (prefix.substr(matched, n) != value.substr(0, n)) return false;
      matched += n;
    }
    return matched == prefix.size();
  }

  bool EndsWith(std::string_view suffix) const {
    size_t unmatched = suffix.size();
    bool separator = false;
    for (auto it = headers_.rbegin(); it != headers_.rend(); ++it) {
      if (it->first != key_) continue;
      const std::string_view value = it->second;
      if (unmatched == 0) return true;
      if (separator) {
        if (suffix[unmatched - 1] != ',') return false;
        --unmatched;
      }
      separator = true;
      const size_t n = std::min(value.size(), unmatched);
      if (suffix.substr(unmatched - n, n) != value.substr(value.size() - n)) {
        return false;
      }
      unmatched -= n;
    }
    return unmatched == 0;
  }

  bool Equals(std::string_view text) const {
    return text.size() == size_ && StartsWith(text);
  }

 private:
  const HeaderList& headers_;
  std::string_view key_;
  size_t count_ = 0;
  size_t size_ = 0;
  std::string_view first_;
};

inline bool HasPrefix(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         text.substr(0, prefix.size()) == prefix;
}

inline bool HasSuffix(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.substr(text.size() - suffix.size()) == suffix;
}

// The patterns of one list (principals, paths, or one header's values),
// compiled so that any one of them matching is quick to find: exact
// patterns in a hash set, the others in short lists.
class PatternSet {
 public:
  void Add(std::string_view pattern) {
    if (pattern == "*") {
      any_non_empty_ = true;
    } else if (HasPrefix(pattern, "*")) {
      suffixes_.emplace_back(pattern.substr(1));
    } else if (HasSuffix(pattern, "*")) {
      prefixes_.emplace_back(pattern.substr(0, pattern.size() - 1));
    } else {
      exact_.emplace(pattern);
    }
  }

  bool empty() const {
    return !any_non_empty_ && exact_.empty() && prefixes_.empty() &&
           suffixes_.empty();
  }

  bool Matches(std::string_view text) const {
    if (any_non_empty_ && !text.empty()) return true;
    if (exact_.contains(ToAbsl(text))) return true;
    for (const std::string& prefix : prefixes_) {
      if (HasPrefix(text, prefix)) return true;
    }
    for (const std::string& suffix : suffixes_) {
      if (HasSuffix(text, suffix)) return true;
    }
    return false;
  }

  bool Matches(const JoinedHeader& text) const {
    if (any_non_empty_ && text.size() > 0) return true;
    for (const std::string& exact : exact_) {
      if (text.Equals(exact)) return true;
    }
    for (const std::string& prefix : prefixes_) {
      if (text.StartsWith(prefix)) return true;
    }
    for (const std::string& suffix : suffixes_) {
      if (text.EndsWith(suffix)) return true;
    }
    return false;
  }

 private:
  bool any_non_empty_ = false;
  absl::flat_hash_set<std::string> exact_;
  std::vector<std::string> prefixes_;
  std::vector<std::string> suffixes_;
};

struct HeaderRequirement {
  std::string key;  // lower-case
  PatternSet values;

  bool Matches(const HeaderList& headers) const {
    const JoinedHeader joined(headers, key);
    if (joined.count() == 0) return false;
    if (joined.count() == 1) return values.Matches(joined.first());
    return values.Matches(joined);
  }
};

}  // namespace authz_internal

struct AuthzPolicy::Rule {
  std::string name;
  // No principal patterns: any caller, even an unauthenticated one.
  authz_internal::PatternSet principals;
  // No path patterns: any method.
  authz_internal::PatternSet paths;
  // Every one must match.
  std::vector<authz_internal::HeaderRequirement> headers;

  bool Matches(const AuthzRequest& request) const {
    if (!principals.empty() && !principals.Matches(request.principal)) {
      return false;
    }
    // As in gRPC, a path pattern matches only a call with a path.
    if (!paths.empty() &&
        (request.path.empty() || !paths.Matches(request.path))) {
      return false;
    }
    for (const authz_internal::HeaderRequirement& header : headers) {
      if (!header.Matches(request.headers)) return false;
    }
    return true;
  }
};

}  // namespace thb

#endif  // THB_COMMON_AUTHZ_RULE_H_
