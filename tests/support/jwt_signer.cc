#include "tests/support/jwt_signer.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/string_view.h"

namespace thb {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* pointer) const {
    Free(pointer);
  }
};
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "jwt_signer: %s failed\n", what);
  ERR_print_errors_fp(stderr);
  std::abort();
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string JsonQuote(std::string_view text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      quoted += absl::StrFormat("\\u%04x", static_cast<int>(c));
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

std::string BignumBytes(const BIGNUM* number, int width) {
  std::string bytes(static_cast<size_t>(width), '\0');
  Check(BN_bn2binpad(number, reinterpret_cast<unsigned char*>(bytes.data()),
                     width) == width,
        "BN_bn2binpad");
  return bytes;
}

BignumPtr BignumParam(EVP_PKEY* key, const char* name) {
  BIGNUM* number = nullptr;
  Check(EVP_PKEY_get_bn_param(key, name, &number) == 1,
        "EVP_PKEY_get_bn_param");
  return BignumPtr(number);
}

std::string Sign(EVP_PKEY* key, std::string_view signed_part) {
  EvpMdCtxPtr context(EVP_MD_CTX_new());
  EVP_PKEY_CTX* key_context = nullptr;
  Check(context != nullptr &&
            EVP_DigestSignInit_ex(context.get(), &key_context, "SHA256",
                                  nullptr, nullptr, key, nullptr) == 1,
        "EVP_DigestSignInit_ex");
  const bool rsa = EVP_PKEY_is_a(key, "RSA");
  if (rsa) {
    Check(EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PADDING) == 1,
          "EVP_PKEY_CTX_set_rsa_padding");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(signed_part.data());
  size_t length = 0;
  Check(EVP_DigestSign(context.get(), nullptr, &length, data,
                       signed_part.size()) == 1,
        "EVP_DigestSign (size)");
  std::string signature(length, '\0');
  Check(EVP_DigestSign(context.get(),
                       reinterpret_cast<unsigned char*>(signature.data()),
                       &length, data, signed_part.size()) == 1,
        "EVP_DigestSign");
  signature.resize(length);
  if (rsa) return signature;

  // OpenSSL writes ECDSA signatures as DER; JOSE wants r || s.
  const auto* cursor = reinterpret_cast<const unsigned char*>(signature.data());
  EcdsaSigPtr parsed(
      d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(signature.size())));
  Check(parsed != nullptr, "d2i_ECDSA_SIG");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(parsed.get(), &r, &s);
  return BignumBytes(r, 32) + BignumBytes(s, 32);
}

std::string Compact(std::string_view header_json,
                    std::string_view claims_json) {
  return absl::StrCat(Base64UrlEncode(header_json), ".",
                      Base64UrlEncode(claims_json));
}

}  // namespace

EvpPkeyPtr GenerateRsaKey(int bits) {
  EvpPkeyPtr key(EVP_RSA_gen(static_cast<unsigned int>(bits)));
  Check(key != nullptr, "EVP_RSA_gen");
  return key;
}

EvpPkeyPtr GenerateEcKey() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "EVP_EC_gen");
  return key;
}

std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string encoded;
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      encoded += kAlphabet[(buffer >> bits) & 0x3f];
    }
    buffer &= (1u << bits) - 1;
  }
  if (bits > 0) encoded += kAlphabet[(buffer << (6 - bits)) & 0x3f];
  return encoded;
}

std::string SignJwt(EVP_PKEY* key, std::string_view alg, std::string_view kid,
                    std::string_view claims_json) {
  std::string header =
      absl::StrCat("{\"alg\":", JsonQuote(alg), ",\"typ\":\"JWT\"");
  if (!kid.empty()) absl::StrAppend(&header, ",\"kid\":", JsonQuote(kid));
  header += "}";
  return SignJwtWithHeader(key, header, claims_json);
}

std::string SignJwtWithHeader(EVP_PKEY* key, std::string_view header_json,
                              std::string_view claims_json) {
  const std::string signed_part = Compact(header_json, claims_json);
  return absl::StrCat(signed_part, ".",
                      Base64UrlEncode(Sign(key, signed_part)));
}

std::string SignJwtHs256(std::string_view secret, std::string_view header_json,
                         std::string_view claims_json) {
  const std::string signed_part = Compact(header_json, claims_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  Check(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(signed_part.data()),
             signed_part.size(), mac, &length) != nullptr,
        "HMAC");
  return absl::StrCat(
      signed_part, ".",
      Base64UrlEncode(std::string_view(reinterpret_cast<char*>(mac), length)));
}

std::string JwtClaimsJson(std::string_view subject, std::string_view issuer,
                          std::string_view audience, absl::Time now,
                          absl::Duration lifetime) {
  return absl::StrCat(
      "{\"sub\":", JsonQuote(subject), ",\"iss\":", JsonQuote(issuer),
      ",\"aud\":", JsonQuote(audience), ",\"iat\":", absl::ToUnixSeconds(now),
      ",\"exp\":", absl::ToUnixSeconds(now + lifetime), "}");
}

std::string PublicKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Check(bio != nullptr && PEM_write_bio_PUBKEY(bio.get(), key) == 1,
        "PEM_write_bio_PUBKEY");
  return BioContents(bio.get());
}

std::string SelfSignedCertificatePem(EVP_PKEY* key) {
  X509Ptr certificate(X509_new());
  Check(certificate != nullptr, "X509_new");
  X509* x509 = certificate.get();
  X509_NAME* name = X509_get_subject_name(x509);
  Check(
      X509_set_version(x509, 2) == 1 &&
          ASN1_INTEGER_set(X509_get_serialNumber(x509), 1) == 1 &&
          X509_gmtime_adj(X509_getm_notBefore(x509), 0) != nullptr &&
          X509_gmtime_adj(X509_getm_notAfter(x509), 24 * 60 * 60) != nullptr &&
          X509_set_pubkey(x509, key) == 1 &&
          X509_NAME_add_entry_by_txt(
              name, "CN", MBSTRING_ASC,
              reinterpret_cast<const unsigned char*>("thb test issuer"), -1, -1,
              0) == 1 &&
          X509_set_issuer_name(x509, name) == 1 &&
          X509_sign(x509, key, EVP_sha256()) > 0,
      "making a self-signed certificate");
  BioPtr bio(BIO_new(BIO_s_mem()));
  Check(bio != nullptr && PEM_write_bio_X509(bio.get(), x509) == 1,
        "PEM_write_bio_X509");
  return BioContents(bio.get());
}

std::string PublicKeyJwk(EVP_PKEY* key, std::string_view kid,
                         std::string_view alg) {
  std::string jwk;
  if (EVP_PKEY_is_a(key, "RSA")) {
    const BignumPtr n = BignumParam(key, OSSL_PKEY_PARAM_RSA_N);
    const BignumPtr e = BignumParam(key, OSSL_PKEY_PARAM_RSA_E);
    jwk = absl::StrCat(
        "{\"kty\":\"RSA\",\"n\":\"",
        Base64UrlEncode(BignumBytes(n.get(), BN_num_bytes(n.get()))),
        "\",\"e\":\"",
        Base64UrlEncode(BignumBytes(e.get(), BN_num_bytes(e.get()))), "\"");
  } else {
    const BignumPtr x = BignumParam(key, OSSL_PKEY_PARAM_EC_PUB_X);
    const BignumPtr y = BignumParam(key, OSSL_PKEY_PARAM_EC_PUB_Y);
    jwk = absl::StrCat("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"",
                       Base64UrlEncode(BignumBytes(x.get(), 32)), "\",\"y\":\"",
                       Base64UrlEncode(BignumBytes(y.get(), 32)), "\"");
  }
  if (!kid.empty()) absl::StrAppend(&jwk, ",\"kid\":", JsonQuote(kid));
  if (!alg.empty()) absl::StrAppend(&jwk, ",\"alg\":", JsonQuote(alg));
  return jwk + "}";
}

std::string Jwks(const std::vector<std::string>& jwks) {
  return absl::StrCat("{\"keys\":[", absl::StrJoin(jwks, ","), "]}");
}

}  // namespace thb
