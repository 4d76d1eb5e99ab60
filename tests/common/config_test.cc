#include "common/config.h"

#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(int32_t, config_test_port, 50051, "A port for the test.");
ABSL_FLAG(std::string, config_test_name, "default", "A name for the test.");

namespace thb {
namespace {

using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("THB_TEST_PORT");
    unsetenv("THB_TEST_NAME");
    absl::SetFlag(&FLAGS_config_test_port, 50051);
    absl::SetFlag(&FLAGS_config_test_name, "default");
  }
  void TearDown() override { SetUp(); }

  const std::vector<EnvBinding> bindings_ = {
      {"config_test_port", "THB_TEST_PORT"},
      {"config_test_name", "THB_TEST_NAME"}};
};

TEST_F(ConfigTest, UnsetVariablesLeaveDefaults) {
  ASSERT_TRUE(ApplyEnvironment(bindings_).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_port), 50051);
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_name), "default");
}

TEST_F(ConfigTest, VariablesSetFlags) {
  setenv("THB_TEST_PORT", "6000", 1);
  setenv("THB_TEST_NAME", "registry-0", 1);
  ASSERT_TRUE(ApplyEnvironment(bindings_).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_port), 6000);
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_name), "registry-0");
}

TEST_F(ConfigTest, BadValueNamesVariableAndValue) {
  setenv("THB_TEST_PORT", "fifty", 1);
  const absl::Status status = ApplyEnvironment(bindings_);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("environment variable THB_TEST_PORT=fifty: "));
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_port), 50051);
}

TEST_F(ConfigTest, BindingToUnknownFlagIsAnError) {
  setenv("THB_TEST_PORT", "1", 1);
  const absl::Status status =
      ApplyEnvironment({{"no_such_flag_anywhere", "THB_TEST_PORT"}});
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("no_such_flag"));
}

TEST_F(ConfigTest, CommandLineWinsOverEnvironment) {
  setenv("THB_TEST_PORT", "6000", 1);
  setenv("THB_TEST_NAME", "from-env", 1);
  char program[] = "config_test";
  char port[] = "--config_test_port=7000";
  char* argv[] = {program, port, nullptr};
  ParseFlagsWithEnvironment(2, argv, bindings_, "usage: config_test");
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_port), 7000);
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_name), "from-env");
}

TEST_F(ConfigTest, BadEnvironmentExits) {
  // A fresh process: the usage message may only be set once per process.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  setenv("THB_TEST_PORT", "not-a-port", 1);
  char program[] = "config_test";
  char* argv[] = {program, nullptr};
  EXPECT_EXIT(ParseFlagsWithEnvironment(1, argv, bindings_, "usage"),
              ::testing::ExitedWithCode(2), "THB_TEST_PORT=not-a-port");
}

TEST_F(ConfigTest, StrayArgumentExits) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  char program[] = "config_test";
  char stray[] = "7000";
  char* argv[] = {program, stray, nullptr};
  EXPECT_EXIT(ParseFlagsWithEnvironment(2, argv, bindings_, "usage"),
              ::testing::ExitedWithCode(2), "unexpected arguments: 7000");
}

}  // namespace
}  // namespace thb
