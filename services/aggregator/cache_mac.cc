#include "services/aggregator/cache_mac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/secret_file.h"
#include "common/string_view.h"

namespace thb::aggregator {
namespace {

// Fetched once: a fetch looks the algorithm up in OpenSSL's provider
// store, under a lock. The EVP_MAC is shared by all threads, as OpenSSL
// allows, and lives as long as the process.
EVP_MAC* Hmac() {
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return hmac;
}

struct MacContextDeleter {
  void operator()(EVP_MAC_CTX* context) const { EVP_MAC_CTX_free(context); }
};

}  // namespace

absl::StatusOr<CacheMac> CacheMac::FromKey(std::string key) {
  if (key.size() < kMinKeyBytes) {
    const size_t size = key.size();
    OPENSSL_cleanse(key.data(), key.size());
    return absl::InvalidArgumentError(
        absl::StrCat("cache HMAC key: ", size, " bytes, fewer than the ",
                     kMinKeyBytes, " an HMAC-SHA256 key needs"));
  }
  CacheMac mac(std::move(key));
  // A library without HMAC-SHA256 fails here, at start, not at every value.
  unsigned char tag[kTagBytes];
  if (absl::Status works = mac.Tag("", "", tag); !works.ok()) return works;
  return mac;
}

absl::StatusOr<CacheMac> CacheMac::FromKeyFile(const std::string& path) {
  constexpr std::string_view kWhat = "cache HMAC key file";
  absl::StatusOr<std::string> key = ReadSecretFile(kWhat, path);
  if (!key.ok()) return key.status();
  absl::StatusOr<CacheMac> mac = FromKey(*std::move(key));
  if (!mac.ok() && absl::IsInvalidArgument(mac.status())) {
    return absl::InvalidArgumentError(absl::StrCat(
        ToAbsl(kWhat), " \"", path, "\": ", mac.status().message()));
  }
  return mac;
}

CacheMac::~CacheMac() { OPENSSL_cleanse(key_.data(), key_.size()); }

absl::Status CacheMac::Tag(std::string_view redis_key, std::string_view value,
                           unsigned char (&tag)[kTagBytes]) const {
  auto failed = [](std::string_view step) {
    return absl::InternalError(
        absl::StrCat("HMAC-SHA256 with OpenSSL: ", ToAbsl(step), " failed"));
  };
  if (Hmac() == nullptr) return failed("fetching HMAC");
  std::unique_ptr<EVP_MAC_CTX, MacContextDeleter> context(
      EVP_MAC_CTX_new(Hmac()));
  if (context == nullptr) return failed("EVP_MAC_CTX_new");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(context.get(),
                   reinterpret_cast<const unsigned char*>(key_.data()),
                   key_.size(), params) != 1) {
    return failed("EVP_MAC_init");
  }
  const unsigned char version = kVersion;
  unsigned char key_length[8];
  uint64_t length = redis_key.size();
  for (int i = 7; i >= 0; --i) {
    key_length[i] = static_cast<unsigned char>(length & 0xff);
    length >>= 8;
  }
  auto update = [&context](const void* data, size_t size) {
    return EVP_MAC_update(context.get(),
                          static_cast<const unsigned char*>(data), size) == 1;
  };
  if (!update(&version, 1) || !update(key_length, sizeof(key_length)) ||
      !update(redis_key.data(), redis_key.size()) ||
      !update(value.data(), value.size())) {
    return failed("EVP_MAC_update");
  }
  size_t written = 0;
  if (EVP_MAC_final(context.get(), tag, &written, kTagBytes) != 1 ||
      written != kTagBytes) {
    return failed("EVP_MAC_final");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CacheMac::Seal(std::string_view redis_key,
                                           std::string_view value) const {
  unsigned char tag[kTagBytes];
  if (absl::Status status = Tag(redis_key, value, tag); !status.ok()) {
    return status;
  }
  std::string sealed;
  sealed.reserve(kHeaderBytes + value.size());
  sealed.push_back(static_cast<char>(kVersion));
  sealed.append(reinterpret_cast<const char*>(tag), kTagBytes);
  sealed.append(value.data(), value.size());
  return sealed;
}

absl::StatusOr<std::string> CacheMac::Open(std::string_view redis_key,
                                           std::string_view sealed) const {
  if (sealed.size() < kHeaderBytes) {
    return absl::DataLossError(absl::StrCat(
        "cached value of ", sealed.size(), " bytes is shorter than the ",
        kHeaderBytes, "-byte header of a sealed one"));
  }
  const auto version = static_cast<uint8_t>(sealed[0]);
  if (version != kVersion) {
    return absl::DataLossError(absl::StrCat("cached value has format version ",
                                            version, ", not ", kVersion));
  }
  const std::string_view value = sealed.substr(kHeaderBytes);
  unsigned char expected[kTagBytes];
  if (absl::Status status = Tag(redis_key, value, expected); !status.ok()) {
    return status;
  }
  // In constant time: how much of a forged tag matched must not show in
  // how long the comparison took.
  if (CRYPTO_memcmp(expected, sealed.data() + 1, kTagBytes) != 0) {
    return absl::DataLossError(
        "cached value's MAC does not match its key and content");
  }
  return std::string(value);
}

}  // namespace thb::aggregator
