#ifndef THB_COMMON_JWT_INTERNAL_H_
#define THB_COMMON_JWT_INTERNAL_H_

// What the two halves of common/jwt share: reading key files (jwt_keys.cc)
// and verifying tokens (jwt.cc). Not for use outside them.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/jwt.h"
#include "common/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace thb {
namespace jwt_internal {

template <auto Free>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* pointer) const {
    Free(pointer);
  }
};
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslDeleter<ECDSA_SIG_free>>;
using EvpMdCtxPtr =
    std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX_free>>;
using EvpPkeyCtxPtr =
    std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using ParamBldPtr =
    std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;

inline void FreeOpenSslString(void* pointer) { OPENSSL_free(pointer); }
using OpenSslStringPtr =
    std::unique_ptr<char, OpenSslDeleter<FreeOpenSslString>>;
using OpenSslBytesPtr =
    std::unique_ptr<unsigned char, OpenSslDeleter<FreeOpenSslString>>;

// OpenSSL's error queue is per thread and shared with every other user of
// libcrypto in the process, gRPC's TLS among them, which may misread an error
// left behind by a failed parse or verification here.
class ClearOpenSslErrorsOnExit {
 public:
  ClearOpenSslErrorsOnExit() = default;
  ClearOpenSslErrorsOnExit(const ClearOpenSslErrorsOnExit&) = delete;
  ClearOpenSslErrorsOnExit& operator=(const ClearOpenSslErrorsOnExit&) = delete;
  ~ClearOpenSslErrorsOnExit() { ERR_clear_error(); }
};

constexpr char kRs256[] = "RS256";
constexpr char kEs256[] = "ES256";
// JOSE carries an ES256 signature as r and s, each 32 bytes big-endian.
constexpr size_t kEs256CoordinateBytes = 32;

// RFC 4648 §5 without padding, and canonical: padding, any other character,
// an impossible length or set unused trailing bits are refused, so that one
// token has exactly one spelling.
inline std::optional<std::string> DecodeBase64Url(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string decoded;
  decoded.reserve(text.size() / 4 * 3 + 2);
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    int value;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '-') {
      value = 62;
    } else if (c == '_') {
      value = 63;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
    buffer &= (1u << bits) - 1;
  }
  if (buffer != 0) return std::nullopt;
  return decoded;
}

// A JSON object. Where the input is a token, the message is not passed on.
inline absl::StatusOr<google::protobuf::Struct> ParseJsonObject(
    std::string_view json) {
  google::protobuf::Struct object;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &object);
  if (!status.ok()) {
    // The first line only: the next ones quote the input.
    const std::string message = status.message().ToString();
    return absl::InvalidArgumentError(message.substr(0, message.find('\n')));
  }
  return object;
}

inline const google::protobuf::Value* FindField(
    const google::protobuf::Struct& object, const std::string& name) {
  const auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}

// A string member: nullopt when absent, an error naming `where` when present
// with another type.
inline absl::StatusOr<std::optional<std::string>> OptionalString(
    const google::protobuf::Struct& object, const std::string& name,
    std::string_view where) {
  const google::protobuf::Value* value = FindField(object, name);
  if (value == nullptr) return std::optional<std::string>();
  if (!value->has_string_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(where), ": \"", name, "\" is not a string"));
  }
  return std::optional<std::string>(value->string_value());
}

enum class KeyType { kRsa, kEc };

inline const char* KeyTypeName(KeyType type) {
  return type == KeyType::kRsa ? "an RSA" : "an EC P-256";
}

inline std::optional<KeyType> KeyTypeForAlg(std::string_view alg) {
  if (alg == kRs256) return KeyType::kRsa;
  if (alg == kEs256) return KeyType::kEc;
  return std::nullopt;
}

}  // namespace jwt_internal

struct JwtKeySet::Key {
  jwt_internal::KeyType type;
  std::string kid;   // "" when the key has none (every PEM key)
  std::string alg;   // the JWKS "alg", or "" when the key's type decides
  std::string name;  // for messages
  jwt_internal::EvpPkeyPtr pkey;
};

}  // namespace thb

#endif  // THB_COMMON_JWT_INTERNAL_H_
