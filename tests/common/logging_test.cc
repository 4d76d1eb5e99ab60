#include "common/logging.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace thb {
namespace {

using ::testing::MatchesRegex;

constexpr char kTime[] =
    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z";

TEST(LoggingTest, LineFormat) {
  SetLogName("registry");
  ::testing::internal::CaptureStderr();
  THB_LOG(Info) << "serving " << 42 << " countries";
  THB_LOG(Warning) << "slow";
  THB_LOG(Error) << "ends with a newline\n";
  const std::string output = ::testing::internal::GetCapturedStderr();
  const std::vector<std::string> lines = absl::StrSplit(output, '\n');
  ASSERT_EQ(lines.size(), 4u) << output;
  EXPECT_THAT(lines[0],
              MatchesRegex(std::string(kTime) +
                           " I registry logging_test\\.cc:[0-9]+\\] serving 42 "
                           "countries"));
  EXPECT_THAT(lines[1], MatchesRegex(std::string(kTime) +
                                     " W registry logging_test\\.cc:[0-9]+\\] "
                                     "slow"));
  EXPECT_THAT(lines[2], MatchesRegex(std::string(kTime) +
                                     " E registry logging_test\\.cc:[0-9]+\\] "
                                     "ends with a newline"));
  EXPECT_EQ(lines[3], "");
}

TEST(LoggingTest, ConcurrentLinesStayWhole) {
  SetLogName("stats");
  ::testing::internal::CaptureStderr();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) {
        THB_LOG(Info) << "thread " << t << " line " << i << " "
                      << std::string(100, 'a' + t);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::string output = ::testing::internal::GetCapturedStderr();
  std::vector<std::string> lines = absl::StrSplit(output, '\n');
  ASSERT_EQ(lines.back(), "");
  lines.pop_back();
  ASSERT_EQ(lines.size(), 800u);
  for (const std::string& line : lines) {
    EXPECT_THAT(line, MatchesRegex(std::string(kTime) +
                                   " I stats logging_test\\.cc:[0-9]+\\] "
                                   "thread [0-3] line [0-9]+ "
                                   "(a{100}|b{100}|c{100}|d{100})"));
  }
}

}  // namespace
}  // namespace thb
