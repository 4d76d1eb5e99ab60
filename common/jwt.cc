#include "common/jwt.h"

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
#include "common/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace thb {
namespace {

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

void FreeOpenSslString(void* pointer) { OPENSSL_free(pointer); }
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
std::optional<std::string> DecodeBase64Url(std::string_view text) {
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
absl::StatusOr<google::protobuf::Struct> ParseJsonObject(
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

const google::protobuf::Value* FindField(const google::protobuf::Struct& object,
                                         const std::string& name) {
  const auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}

// A string member: nullopt when absent, an error naming `where` when present
// with another type.
absl::StatusOr<std::optional<std::string>> OptionalString(
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

const char* KeyTypeName(KeyType type) {
  return type == KeyType::kRsa ? "an RSA" : "an EC P-256";
}

std::optional<KeyType> KeyTypeForAlg(std::string_view alg) {
  if (alg == kRs256) return KeyType::kRsa;
  if (alg == kEs256) return KeyType::kEc;
  return std::nullopt;
}

}  // namespace

struct JwtKeySet::Key {
  KeyType type;
  std::string kid;   // "" when the key has none (every PEM key)
  std::string alg;   // the JWKS "alg", or "" when the key's type decides
  std::string name;  // for messages
  EvpPkeyPtr pkey;
};

namespace {

using Key = JwtKeySet::Key;

absl::Status KeyError(std::string_view key_name, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(ToAbsl(key_name), ": ", ToAbsl(problem)));
}

// The one place the key count is bounded; a file is counted before its keys
// are decoded.
absl::Status CheckKeyCount(size_t count) {
  if (count > kMaxJwtKeys) {
    return absl::InvalidArgumentError(
        absl::StrCat("the key file holds ", count,
                     " keys, more than the limit of ", kMaxJwtKeys));
  }
  return absl::OkStatus();
}

bool IsP256GroupName(std::string_view name) {
  return name == "prime256v1" || name == "P-256" || name == "secp256r1";
}

// What every key must be, however it was written: RSA of kMinJwtRsaBits or
// more, or EC on P-256, and a valid public key of its kind.
absl::StatusOr<KeyType> CheckPublicKey(EVP_PKEY* pkey,
                                       std::string_view key_name) {
  KeyType type;
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    type = KeyType::kRsa;
    const int bits = EVP_PKEY_get_bits(pkey);
    if (bits < kMinJwtRsaBits) {
      return KeyError(key_name,
                      absl::StrCat("RSA key of ", bits, " bits; at least ",
                                   kMinJwtRsaBits, " are needed"));
    }
  } else if (EVP_PKEY_is_a(pkey, "EC")) {
    type = KeyType::kEc;
    char group[64] = {};
    size_t group_length = 0;
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                        sizeof(group), &group_length) ||
        !IsP256GroupName(std::string_view(group, group_length))) {
      return KeyError(key_name, "EC key not on the named curve P-256");
    }
  } else {
    return KeyError(
        key_name,
        absl::StrCat(QuotedValue(EVP_PKEY_get0_type_name(pkey) == nullptr
                                     ? "unknown"
                                     : EVP_PKEY_get0_type_name(pkey)),
                     " key; only RSA and EC P-256 keys verify RS256 and "
                     "ES256 tokens"));
  }
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return KeyError(key_name, "not a valid public key");
  }
  return type;
}

absl::StatusOr<std::shared_ptr<const Key>> MakeKey(EvpPkeyPtr pkey,
                                                   std::string name,
                                                   std::string kid,
                                                   std::string alg) {
  absl::StatusOr<KeyType> type = CheckPublicKey(pkey.get(), name);
  if (!type.ok()) return type.status();
  auto key = std::make_shared<Key>();
  key->type = *type;
  key->kid = std::move(kid);
  key->alg = std::move(alg);
  key->name = std::move(name);
  key->pkey = std::move(pkey);
  return std::shared_ptr<const Key>(std::move(key));
}

// PEM

constexpr std::string_view kPemBegin = "-----BEGIN ";

size_t CountPemBlocks(std::string_view text) {
  size_t count = 0;
  for (size_t at = text.find(kPemBegin); at != std::string_view::npos;
       at = text.find(kPemBegin, at + kPemBegin.size())) {
    ++count;
  }
  return count;
}

absl::StatusOr<EvpPkeyPtr> DecodePemBlock(std::string_view type,
                                          const unsigned char* data,
                                          long length,
                                          std::string_view block_name) {
  const unsigned char* cursor = data;
  if (type == "PUBLIC KEY") {
    EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &cursor, length));
    if (pkey == nullptr || cursor != data + length) {
      return KeyError(block_name, "PUBLIC KEY block is not a public key");
    }
    return pkey;
  }
  if (type == "CERTIFICATE") {
    X509Ptr certificate(d2i_X509(nullptr, &cursor, length));
    if (certificate == nullptr || cursor != data + length) {
      return KeyError(block_name, "CERTIFICATE block is not a certificate");
    }
    EvpPkeyPtr pkey(X509_get_pubkey(certificate.get()));
    if (pkey == nullptr) {
      return KeyError(block_name, "the certificate's key cannot be read");
    }
    return pkey;
  }
  if (type == "RSA PUBLIC KEY") {
    return KeyError(block_name,
                    "PKCS#1 \"RSA PUBLIC KEY\" blocks are not read; write "
                    "the key as \"PUBLIC KEY\" (openssl rsa -RSAPublicKey_in "
                    "-pubout)");
  }
  if (type.find("PRIVATE KEY") != std::string_view::npos) {
    return KeyError(block_name,
                    "a private key; the key file must hold public keys only");
  }
  return KeyError(block_name,
                  absl::StrCat(QuotedValue(type),
                               " block; only PUBLIC KEY and CERTIFICATE "
                               "blocks are read"));
}

absl::StatusOr<std::vector<std::shared_ptr<const Key>>> ParsePem(
    std::string_view text) {
  const size_t expected = CountPemBlocks(text);
  if (absl::Status status = CheckKeyCount(expected); !status.ok()) {
    return status;
  }
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory");
  std::vector<std::shared_ptr<const Key>> keys;
  for (size_t block = 1; block <= expected; ++block) {
    const std::string block_name = absl::StrCat("PEM block ", block);
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    const int read = PEM_read_bio(bio.get(), &name, &header, &data, &length);
    OpenSslStringPtr name_owner(name);
    OpenSslStringPtr header_owner(header);
    OpenSslBytesPtr data_owner(data);
    if (read != 1) {
      return KeyError(block_name,
                      "not valid PEM (its BEGIN line, base64 or END line)");
    }
    if (header != nullptr && header[0] != '\0') {
      return KeyError(block_name, "encrypted or with headers; not read");
    }
    absl::StatusOr<EvpPkeyPtr> pkey =
        DecodePemBlock(name, data, length, block_name);
    if (!pkey.ok()) return pkey.status();
    absl::StatusOr<std::shared_ptr<const Key>> key =
        MakeKey(*std::move(pkey), block_name, "", "");
    if (!key.ok()) return key.status();
    keys.push_back(*std::move(key));
  }
  return keys;
}

// JWKS (RFC 7517, RFC 7518 §6)

absl::StatusOr<std::string> JwkBytes(const google::protobuf::Struct& jwk,
                                     const std::string& field,
                                     std::string_view key_name) {
  absl::StatusOr<std::optional<std::string>> text =
      OptionalString(jwk, field, key_name);
  if (!text.ok()) return text.status();
  if (!text->has_value()) {
    return KeyError(key_name, absl::StrCat("\"", field, "\" is missing"));
  }
  std::optional<std::string> bytes = DecodeBase64Url(**text);
  if (!bytes.has_value() || bytes->empty()) {
    return KeyError(key_name, absl::StrCat("\"", field, "\" is not base64url"));
  }
  return *std::move(bytes);
}

absl::StatusOr<EvpPkeyPtr> PkeyFromParams(const char* type,
                                          OSSL_PARAM_BLD* builder,
                                          std::string_view key_name) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(builder));
  EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (params == nullptr || context == nullptr ||
      EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &pkey, EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    return KeyError(key_name, "not a valid public key");
  }
  return EvpPkeyPtr(pkey);
}

absl::StatusOr<EvpPkeyPtr> RsaFromJwk(const google::protobuf::Struct& jwk,
                                      std::string_view key_name) {
  absl::StatusOr<std::string> n = JwkBytes(jwk, "n", key_name);
  if (!n.ok()) return n.status();
  absl::StatusOr<std::string> e = JwkBytes(jwk, "e", key_name);
  if (!e.ok()) return e.status();
  BignumPtr modulus(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                              static_cast<int>(n->size()), nullptr));
  BignumPtr exponent(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                static_cast<int>(e->size()), nullptr));
  ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (modulus == nullptr || exponent == nullptr || builder == nullptr ||
      !OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N,
                              modulus.get()) ||
      !OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E,
                              exponent.get())) {
    return absl::ResourceExhaustedError("out of memory");
  }
  return PkeyFromParams("RSA", builder.get(), key_name);
}

absl::StatusOr<EvpPkeyPtr> EcFromJwk(const google::protobuf::Struct& jwk,
                                     std::string_view key_name) {
  std::string point = "\x04";  // uncompressed: x then y
  for (const char* field : {"x", "y"}) {
    absl::StatusOr<std::string> coordinate = JwkBytes(jwk, field, key_name);
    if (!coordinate.ok()) return coordinate.status();
    // RFC 7518 §6.2.1.2: the full size of the curve's coordinates, no less.
    if (coordinate->size() != kEs256CoordinateBytes) {
      return KeyError(key_name,
                      absl::StrCat("\"", field, "\" is ", coordinate->size(),
                                   " bytes; a P-256 coordinate is ",
                                   kEs256CoordinateBytes));
    }
    point += *coordinate;
  }
  ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (builder == nullptr ||
      !OSSL_PARAM_BLD_push_utf8_string(
          builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                        point.data(), point.size())) {
    return absl::ResourceExhaustedError("out of memory");
  }
  return PkeyFromParams("EC", builder.get(), key_name);
}

// One JWKS entry: a key, nullptr for an entry that is not for verifying
// RS256 or ES256 signatures, or an error.
absl::StatusOr<std::shared_ptr<const Key>> KeyFromJwk(
    const google::protobuf::Value& entry, size_t index) {
  std::string key_name = absl::StrCat("JWKS keys[", index, "]");
  if (!entry.has_struct_value()) {
    return KeyError(key_name, "not a JSON object");
  }
  const google::protobuf::Struct& jwk = entry.struct_value();
  absl::StatusOr<std::optional<std::string>> kid =
      OptionalString(jwk, "kid", key_name);
  if (!kid.ok()) return kid.status();
  if (kid->has_value()) {
    absl::StrAppend(&key_name, " (kid ", QuotedValue(**kid), ")");
  }
  absl::StatusOr<std::optional<std::string>> kty =
      OptionalString(jwk, "kty", key_name);
  if (!kty.ok()) return kty.status();
  if (!kty->has_value()) return KeyError(key_name, "\"kty\" is missing");
  absl::StatusOr<std::optional<std::string>> use =
      OptionalString(jwk, "use", key_name);
  if (!use.ok()) return use.status();
  absl::StatusOr<std::optional<std::string>> alg =
      OptionalString(jwk, "alg", key_name);
  if (!alg.ok()) return alg.status();
  absl::StatusOr<std::optional<std::string>> crv =
      OptionalString(jwk, "crv", key_name);
  if (!crv.ok()) return crv.status();

  KeyType type;
  if (**kty == "RSA") {
    type = KeyType::kRsa;
  } else if (**kty == "EC") {
    type = KeyType::kEc;
  } else {
    return std::shared_ptr<const Key>();
  }
  if ((use->has_value() && **use != "sig") ||
      (type == KeyType::kEc && **crv != "P-256")) {
    return std::shared_ptr<const Key>();
  }
  if (FindField(jwk, "d") != nullptr) {
    return KeyError(key_name,
                    "holds a private key (\"d\"); the key file must hold "
                    "public keys only");
  }
  if (alg->has_value()) {
    const std::optional<KeyType> alg_type = KeyTypeForAlg(**alg);
    if (!alg_type.has_value()) return std::shared_ptr<const Key>();
    if (*alg_type != type) {
      return KeyError(key_name, absl::StrCat("\"alg\" ", QuotedValue(**alg),
                                             " does not go with \"kty\" ",
                                             QuotedValue(**kty)));
    }
  }
  absl::StatusOr<EvpPkeyPtr> pkey = type == KeyType::kRsa
                                        ? RsaFromJwk(jwk, key_name)
                                        : EcFromJwk(jwk, key_name);
  if (!pkey.ok()) return pkey.status();
  return MakeKey(*std::move(pkey), std::move(key_name),
                 kid->value_or(std::string()), alg->value_or(std::string()));
}

absl::StatusOr<std::vector<std::shared_ptr<const Key>>> ParseJwks(
    std::string_view text) {
  absl::StatusOr<google::protobuf::Struct> document = ParseJsonObject(text);
  if (!document.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the JWKS document is not a JSON object: ",
                     document.status().message()));
  }
  const google::protobuf::Value* entries = FindField(*document, "keys");
  if (entries == nullptr || !entries->has_list_value()) {
    return absl::InvalidArgumentError(
        "the JWKS document has no \"keys\" array");
  }
  const auto& list = entries->list_value().values();
  if (absl::Status status = CheckKeyCount(list.size()); !status.ok()) {
    return status;
  }
  std::vector<std::shared_ptr<const Key>> keys;
  for (int i = 0; i < list.size(); ++i) {
    absl::StatusOr<std::shared_ptr<const Key>> key =
        KeyFromJwk(list[i], static_cast<size_t>(i));
    if (!key.ok()) return key.status();
    if (*key != nullptr) keys.push_back(*std::move(key));
  }
  return keys;
}

absl::Status Refused(std::string_view reason) {
  return absl::UnauthenticatedError(ToAbsl(reason));
}

absl::Status Malformed(std::string_view what) {
  return absl::UnauthenticatedError(
      absl::StrCat("malformed token: ", ToAbsl(what)));
}

std::string ShownTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

// RFC 7515 §4.1.9 lets "application/" be left out of a media type, and media
// types compare without regard to case.
bool IsAcceptedTyp(std::string_view typ) {
  std::string lower = absl::AsciiStrToLower(ToAbsl(typ));
  constexpr std::string_view kApplication = "application/";
  if (std::string_view(lower).substr(0, kApplication.size()) == kApplication) {
    lower.erase(0, kApplication.size());
  }
  return lower == "jwt" || lower == "at+jwt";
}

// JOSE's r || s as the DER ECDSA-Sig-Value that OpenSSL verifies.
std::optional<std::string> Es256SignatureToDer(std::string_view raw) {
  if (raw.size() != 2 * kEs256CoordinateBytes) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BignumPtr r(BN_bin2bn(bytes, kEs256CoordinateBytes, nullptr));
  BignumPtr s(
      BN_bin2bn(bytes + kEs256CoordinateBytes, kEs256CoordinateBytes, nullptr));
  EcdsaSigPtr signature(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || signature == nullptr ||
      ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1) {
    return std::nullopt;
  }
  r.release();  // owned by signature now
  s.release();
  const int length = i2d_ECDSA_SIG(signature.get(), nullptr);
  if (length <= 0) return std::nullopt;
  std::string der(static_cast<size_t>(length), '\0');
  auto* cursor = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(signature.get(), &cursor) != length) return std::nullopt;
  return der;
}

// Whether `signature` (DER for EC keys) over `signed_part` verifies under
// `key` with SHA-256; RSA with PKCS#1 v1.5 padding. Reads `key` only, so
// concurrent verifications may share it.
bool SignatureVerifies(const Key& key, std::string_view signed_part,
                       std::string_view signature) {
  EvpMdCtxPtr context(EVP_MD_CTX_new());
  EVP_PKEY_CTX* key_context = nullptr;
  if (context == nullptr ||
      EVP_DigestVerifyInit_ex(context.get(), &key_context, "SHA256", nullptr,
                              nullptr, key.pkey.get(), nullptr) != 1) {
    return false;
  }
  if (key.type == KeyType::kRsa &&
      EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PADDING) != 1) {
    return false;
  }
  return EVP_DigestVerify(
             context.get(),
             reinterpret_cast<const unsigned char*>(signature.data()),
             signature.size(),
             reinterpret_cast<const unsigned char*>(signed_part.data()),
             signed_part.size()) == 1;
}

// A NumericDate claim (RFC 7519 §2): nullopt when absent.
absl::StatusOr<std::optional<absl::Time>> NumericDate(
    const google::protobuf::Struct& claims, const std::string& name) {
  const google::protobuf::Value* value = FindField(claims, name);
  if (value == nullptr) return std::optional<absl::Time>();
  if (!value->has_number_value()) {
    return Malformed(absl::StrCat("claim \"", name, "\" is not a number"));
  }
  return std::optional<absl::Time>(absl::UnixEpoch() +
                                   absl::Seconds(value->number_value()));
}

absl::Status CheckAudience(const google::protobuf::Value* aud,
                           const std::string& audience) {
  if (aud == nullptr) return Refused("token has no \"aud\" claim");
  if (aud->has_string_value()) {
    if (aud->string_value() == audience) return absl::OkStatus();
    return Refused(absl::StrCat("audience ", QuotedValue(aud->string_value()),
                                " is not the configured one"));
  }
  if (!aud->has_list_value()) {
    return Malformed("claim \"aud\" is neither a string nor an array");
  }
  std::vector<std::string> shown;
  for (const google::protobuf::Value& item : aud->list_value().values()) {
    if (!item.has_string_value()) {
      return Malformed("claim \"aud\" holds a value that is not a string");
    }
    if (item.string_value() == audience) return absl::OkStatus();
    shown.push_back(QuotedValue(item.string_value()));
  }
  constexpr size_t kShownAudiences = 5;
  if (shown.size() > kShownAudiences) {
    shown.resize(kShownAudiences);
    shown.push_back("...");
  }
  return Refused(absl::StrCat("audiences [", absl::StrJoin(shown, ", "),
                              "] do not include the configured one"));
}

absl::StatusOr<JwtClaims> CheckClaims(const google::protobuf::Struct& claims,
                                      const JwtRequirements& requirements,
                                      absl::Time now) {
  absl::StatusOr<std::optional<absl::Time>> exp = NumericDate(claims, "exp");
  if (!exp.ok()) return exp.status();
  if (!exp->has_value()) return Refused("token has no \"exp\" claim");
  if (now >= **exp + requirements.leeway) {
    return Refused(absl::StrCat("token expired at ", ShownTime(**exp)));
  }
  absl::StatusOr<std::optional<absl::Time>> nbf = NumericDate(claims, "nbf");
  if (!nbf.ok()) return nbf.status();
  if (nbf->has_value() && now + requirements.leeway < **nbf) {
    return Refused(absl::StrCat("token not valid before ", ShownTime(**nbf)));
  }
  absl::StatusOr<std::optional<absl::Time>> iat = NumericDate(claims, "iat");
  if (!iat.ok()) return iat.status();
  if (iat->has_value() && **iat > now + requirements.leeway) {
    return Refused(
        absl::StrCat("token issued in the future, at ", ShownTime(**iat)));
  }

  const google::protobuf::Value* iss = FindField(claims, "iss");
  if (iss == nullptr) return Refused("token has no \"iss\" claim");
  if (!iss->has_string_value()) {
    return Malformed("claim \"iss\" is not a string");
  }
  if (iss->string_value() != requirements.issuer) {
    return Refused(absl::StrCat("issuer ", QuotedValue(iss->string_value()),
                                " is not the configured one"));
  }
  if (absl::Status status =
          CheckAudience(FindField(claims, "aud"), requirements.audience);
      !status.ok()) {
    return status;
  }
  const google::protobuf::Value* sub = FindField(claims, "sub");
  if (sub == nullptr) return Refused("token has no \"sub\" claim");
  if (!sub->has_string_value() || sub->string_value().empty()) {
    return Malformed("claim \"sub\" is not a non-empty string");
  }
  JwtClaims result;
  result.subject = sub->string_value();
  result.issuer = iss->string_value();
  result.expiry = **exp;
  return result;
}

absl::Status CheckRequirements(const JwtRequirements& requirements) {
  if (requirements.issuer.empty()) {
    return absl::FailedPreconditionError("the required JWT issuer is empty");
  }
  if (requirements.audience.empty()) {
    return absl::FailedPreconditionError("the required JWT audience is empty");
  }
  if (requirements.leeway < absl::ZeroDuration() ||
      requirements.leeway > kMaxJwtLeeway) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the JWT clock leeway ", absl::FormatDuration(requirements.leeway),
        " is outside [0, ", absl::FormatDuration(kMaxJwtLeeway), "]"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<JwtKeySet> JwtKeySet::Parse(std::string_view pem_or_jwks) {
  ClearOpenSslErrorsOnExit clear_errors;
  if (pem_or_jwks.size() > kMaxJwtKeyFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the key file is ", pem_or_jwks.size(),
                     " bytes, more than the limit of ", kMaxJwtKeyFileBytes));
  }
  const std::string_view trimmed =
      ToStd(absl::StripLeadingAsciiWhitespace(ToAbsl(pem_or_jwks)));
  absl::StatusOr<std::vector<std::shared_ptr<const Key>>> keys;
  if (!trimmed.empty() && trimmed.front() == '{') {
    keys = ParseJwks(pem_or_jwks);
  } else if (pem_or_jwks.find(kPemBegin) != std::string_view::npos) {
    keys = ParsePem(pem_or_jwks);
  } else {
    return absl::InvalidArgumentError(
        "the key file is neither PEM (\"-----BEGIN PUBLIC KEY-----\") nor a "
        "JWKS JSON document ({\"keys\": [...]})");
  }
  if (!keys.ok()) return keys.status();
  if (keys->empty()) {
    return absl::InvalidArgumentError(
        "the key file holds no key that verifies RS256 or ES256 signatures");
  }
  return JwtKeySet(*std::move(keys));
}

absl::StatusOr<JwtClaims> VerifyJwt(std::string_view token,
                                    const JwtKeySet& keys,
                                    const JwtRequirements& requirements,
                                    absl::Time now) {
  ClearOpenSslErrorsOnExit clear_errors;
  if (absl::Status status = CheckRequirements(requirements); !status.ok()) {
    return status;
  }
  if (token.size() > kMaxJwtBytes) {
    return Malformed(absl::StrCat(
        token.size(), " bytes, more than the limit of ", kMaxJwtBytes));
  }
  const std::vector<absl::string_view> segments =
      absl::StrSplit(ToAbsl(token), '.');
  if (segments.size() != 3) {
    return Malformed(absl::StrCat(segments.size(),
                                  " dot-separated segments; a signed JWT has 3 "
                                  "(header.claims.signature)"));
  }
  const std::optional<std::string> header_json =
      DecodeBase64Url(ToStd(segments[0]));
  if (!header_json.has_value()) return Malformed("header is not base64url");
  const std::optional<std::string> claims_json =
      DecodeBase64Url(ToStd(segments[1]));
  if (!claims_json.has_value()) return Malformed("claims are not base64url");
  const std::optional<std::string> signature =
      DecodeBase64Url(ToStd(segments[2]));
  if (!signature.has_value()) return Malformed("signature is not base64url");

  const absl::StatusOr<google::protobuf::Struct> header =
      ParseJsonObject(*header_json);
  if (!header.ok()) return Malformed("header is not a JSON object");
  const google::protobuf::Value* alg_value = FindField(*header, "alg");
  if (alg_value == nullptr || !alg_value->has_string_value()) {
    return Malformed("header has no \"alg\" string");
  }
  const std::string& alg = alg_value->string_value();
  if (absl::AsciiStrToLower(alg) == "none") {
    return Refused("alg none is not accepted");
  }
  const std::optional<KeyType> alg_type = KeyTypeForAlg(alg);
  if (!alg_type.has_value()) {
    return Refused(absl::StrCat("alg ", QuotedValue(alg),
                                " is not accepted; only RS256 and ES256 are"));
  }
  if (FindField(*header, "crit") != nullptr) {
    return Refused(
        "header parameter \"crit\" names extensions this server does not "
        "implement");
  }
  if (const google::protobuf::Value* typ = FindField(*header, "typ");
      typ != nullptr &&
      (!typ->has_string_value() || !IsAcceptedTyp(typ->string_value()))) {
    return Refused("header \"typ\" is neither \"JWT\" nor \"at+jwt\"");
  }
  std::optional<std::string> kid;
  if (const google::protobuf::Value* kid_value = FindField(*header, "kid");
      kid_value != nullptr) {
    if (!kid_value->has_string_value()) {
      return Malformed("header \"kid\" is not a string");
    }
    // An empty kid names no key; it would otherwise match every key without
    // one.
    if (!kid_value->string_value().empty()) kid = kid_value->string_value();
  }

  if (signature->empty()) return Malformed("the signature is empty");
  std::string verified_signature = *signature;
  if (*alg_type == KeyType::kEc) {
    std::optional<std::string> der = Es256SignatureToDer(*signature);
    if (!der.has_value()) {
      return Malformed(absl::StrCat("ES256 signature of ", signature->size(),
                                    " bytes; it is ",
                                    2 * kEs256CoordinateBytes));
    }
    verified_signature = *std::move(der);
  }

  // The token names its key by kid; a key without one (every PEM key) may
  // have signed any token, with or without kid.
  const std::string_view signed_part(
      token.data(), segments[0].size() + 1 + segments[1].size());
  bool tried = false;
  const JwtKeySet::Key* kid_match_of_other_type = nullptr;
  bool verified = false;
  for (const std::shared_ptr<const Key>& key : keys.keys_) {
    if (kid.has_value() && !key->kid.empty() && key->kid != *kid) continue;
    if (key->type != *alg_type || (!key->alg.empty() && key->alg != alg)) {
      if (kid.has_value() && key->kid == *kid) {
        kid_match_of_other_type = key.get();
      }
      continue;
    }
    tried = true;
    if (SignatureVerifies(*key, signed_part, verified_signature)) {
      verified = true;
      break;
    }
  }
  if (!tried) {
    if (kid_match_of_other_type != nullptr) {
      return Refused(absl::StrCat(
          "key ", QuotedValue(*kid), " is ",
          KeyTypeName(kid_match_of_other_type->type), " key",
          kid_match_of_other_type->alg.empty()
              ? ""
              : absl::StrCat(" for ", kid_match_of_other_type->alg),
          "; it does not verify ", alg, " tokens"));
    }
    if (kid.has_value()) {
      return Refused(absl::StrCat("no configured ", alg, " key has kid ",
                                  QuotedValue(*kid)));
    }
    return Refused(absl::StrCat("no configured key verifies ", alg, " tokens; ",
                                alg, " needs ", KeyTypeName(*alg_type),
                                " key"));
  }
  if (!verified) return Refused("signature does not verify");

  const absl::StatusOr<google::protobuf::Struct> claims =
      ParseJsonObject(*claims_json);
  if (!claims.ok()) return Malformed("claims are not a JSON object");
  return CheckClaims(*claims, requirements, now);
}

}  // namespace thb
