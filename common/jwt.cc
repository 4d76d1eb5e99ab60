#include "common/jwt.h"

#include "common/jwt_internal.h"

namespace thb {
namespace {

// The helpers this file shares with its other half, by their short names.
using namespace jwt_internal;  // NOLINT(build/namespaces)
using Key = JwtKeySet::Key;

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
