#include "common/logging.h"

#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/string_view.h"

namespace thb {
namespace {

absl::Mutex& LogMutex() {
  static absl::Mutex* const mu = new absl::Mutex();
  return *mu;
}

// Leaked on purpose: lines may still be logged while statics are destroyed.
std::string& LogName() ABSL_EXCLUSIVE_LOCKS_REQUIRED(LogMutex()) {
  static std::string* const name = new std::string();
  return *name;
}

char LevelLetter(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return 'I';
    case LogLevel::kWarning:
      return 'W';
    case LogLevel::kError:
      return 'E';
  }
  return '?';
}

std::string_view BaseName(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// One write(2) per line, so that lines of concurrent processes sharing the
// stream (and of threads, with the mutex) never interleave mid-line.
void WriteAll(std::string_view text) {
  while (!text.empty()) {
    const ssize_t written = ::write(STDERR_FILENO, text.data(), text.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return;  // Nowhere left to report a failing stderr.
    }
    text.remove_prefix(static_cast<size_t>(written));
  }
}

}  // namespace

LogLine::LogLine(LogLevel level, const char* file, int line)
    : level_(level), file_(file), line_(line) {}

LogLine::~LogLine() {
  std::string message = stream_.str();
  if (!message.empty() && message.back() == '\n') message.pop_back();
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                            absl::UTCTimeZone());
  const char level[] = {LevelLetter(level_), '\0'};
  absl::MutexLock lock(&LogMutex());
  const std::string& name = LogName();
  const std::string text =
      absl::StrCat(time, " ", level, " ", name, name.empty() ? "" : " ",
                   ToAbsl(BaseName(file_)), ":", line_, "] ", message, "\n");
  WriteAll(text);
}

void SetLogName(std::string_view name) {
  absl::MutexLock lock(&LogMutex());
  LogName() = std::string(name);
}

}  // namespace thb
