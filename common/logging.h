#ifndef THB_COMMON_LOGGING_H_
#define THB_COMMON_LOGGING_H_

#include <sstream>
#include <string_view>

namespace thb {

enum class LogLevel { kInfo, kWarning, kError };

// One line to stderr: "2026-11-28T03:31:37.123Z I registry] message".
// Thread-safe; a line is written whole.
class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};

// The process name shown on every line; set once in main().
void SetLogName(std::string_view name);

}  // namespace thb

#define THB_LOG(severity) \
  ::thb::LogLine(::thb::LogLevel::k##severity, __FILE__, __LINE__).stream()

#endif  // THB_COMMON_LOGGING_H_
