#include "common/config.h"

#include <sys/wait.h>
#include <unistd.h>

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

TEST_F(ConfigTest, EnvironmentUsageListsEachVariableBesideItsFlag) {
  EXPECT_THAT(EnvironmentUsage(bindings_),
              testing::EndsWith("\n\nEnvironment:\n"
                                "  THB_TEST_PORT  --config_test_port\n"
                                "  THB_TEST_NAME  --config_test_name\n"));
}

TEST_F(ConfigTest, EnvironmentUsageAlignsTheFlags) {
  EXPECT_THAT(EnvironmentUsage({{"port", "THB_PORT"}, {"db", "THB_LONG_DB"}}),
              testing::EndsWith("Environment:\n"
                                "  THB_PORT     --port\n"
                                "  THB_LONG_DB  --db\n"));
}

TEST_F(ConfigTest, HelpEndsTheUsageWithTheEnvironment) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  char program[] = "config_test";
  char help[] = "--help";
  char* argv[] = {program, help, nullptr};
  // absl prints the help to standard output; the death test reads stderr.
  EXPECT_EXIT(
      {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        ParseFlagsWithEnvironment(2, argv, bindings_, "A test program.");
      },
      [](int status) { return WIFEXITED(status); },
      "config_test: A test program.\n\n"
      "Each variable below sets the flag beside it; a flag given on the "
      "command\nline wins.\n\n"
      "Environment:\n"
      "  THB_TEST_PORT  --config_test_port\n"
      "  THB_TEST_NAME  --config_test_name\n"
      "(.|\n)*--config_test_port \\(A port for the test.\\); default: "
      "50051;");
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
