#include "common/jwt.h"
#include "common/jwt_internal.h"

namespace thb {
namespace {

// The helpers this file shares with its other half, by their short names.
using namespace jwt_internal;  // NOLINT(build/namespaces)
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

}  // namespace thb
