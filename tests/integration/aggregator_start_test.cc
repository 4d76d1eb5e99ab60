// The aggregator refuses to start without what Redis needs.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/aggregator_suite.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::thb::testing::kHmacKey;
using ::thb::testing::kRedisPassword;
using ::thb::testing::Process;
using ::thb::testing::WriteFile;

// The aggregator refuses to start without what Redis needs; it exits before
// it connects to anything, so nothing else runs.
class AggregatorStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("aggregator-start");
    password_file_ = WriteFile(dir_, "redis-password", kRedisPassword);
    key_file_ = WriteFile(dir_, "cache-hmac-key", kHmacKey);
  }

  // The exit code and log of the aggregator run with `args` and `env`.
  std::pair<int, std::string> Run(
      std::vector<std::string> args,
      const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), {"--port=0", "--health_port=0"});
    for (std::string& arg :
         thb::testing::TestPki::Get().ServerArgs("aggregator")) {
      args.push_back(std::move(arg));
    }
    auto process = Process::Start(THB_AGGREGATOR_BIN, args, env);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return {-1, ""};
    // Signal 0 delivers nothing: this only waits for the exit.
    absl::StatusOr<int> code = process->Signal(0, absl::Seconds(20));
    if (!code.ok()) process->Kill();
    return {code.ok() ? *code : -1, process->Log()};
  }

  std::string dir_;
  std::string password_file_;
  std::string key_file_;
};

TEST_F(AggregatorStartTest, RefusesAnHmacKeyFileShorterThan32Bytes) {
  const std::string key = "31-byte-key-0123456789abcdefghi";
  ASSERT_EQ(key.size(), 31u);
  const std::string short_key = WriteFile(dir_, "short-key", key);
  const auto [code, log] =
      Run({"--redis=127.0.0.1:1",
           absl::StrCat("--redis_password_file=", password_file_)},
          {{"THB_CACHE_HMAC_KEY_FILE", short_key}});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(log, HasSubstr(absl::StrCat("cache HMAC key file \"", short_key,
                                          "\": cache HMAC key: 31 bytes, "
                                          "fewer than the 32")));
  EXPECT_THAT(log, Not(HasSubstr("0123456789abcdefghi")));
}

TEST_F(AggregatorStartTest, RequiresAPasswordFileWithRedis) {
  const auto [code, log] =
      Run({"--redis=127.0.0.1:1",
           absl::StrCat("--cache_hmac_key_file=", key_file_)});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(log, HasSubstr("--redis_password_file is required with --redis"));
}

TEST_F(AggregatorStartTest, RequiresAnHmacKeyFileWithRedis) {
  const auto [code, log] =
      Run({"--redis=127.0.0.1:1",
           absl::StrCat("--redis_password_file=", password_file_)});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(log, HasSubstr("--cache_hmac_key_file is required with --redis"));
}

TEST_F(AggregatorStartTest, RefusesAnEmptyPasswordFileNamingIt) {
  const std::string empty = WriteFile(dir_, "empty-password", "\n");
  const auto [code, log] =
      Run({"--redis=127.0.0.1:1", absl::StrCat("--redis_password_file=", empty),
           absl::StrCat("--cache_hmac_key_file=", key_file_)});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(log, HasSubstr(absl::StrCat("redis password file \"", empty,
                                          "\": holds no password")));
}

}  // namespace
}  // namespace thb
