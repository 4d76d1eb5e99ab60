#ifndef THB_COMMON_RELOADING_FILE_H_
#define THB_COMMON_RELOADING_FILE_H_

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace thb {

// Files a server reads are bounded like any other input.
inline constexpr size_t kMaxReloadingFileBytes = 1 << 20;
// A file is never read again more often than this, whatever the flag says.
inline constexpr absl::Duration kMinReloadInterval = absl::Seconds(1);

// Reads a whole file of at most kMaxReloadingFileBytes: NOT_FOUND,
// PERMISSION_DENIED or FAILED_PRECONDITION (too large) naming the path.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path);

// The parsed contents of a configuration file (an authorization policy, JWT
// keys) that an operator may replace while the server runs. The file is read
// again every `interval`; contents that changed and parse replace the current
// value, contents that do not parse are logged and the last good value stays,
// so a half-written file never opens or closes the door.
template <typename T>
class ReloadingFile {
 public:
  using Parser = std::function<absl::StatusOr<T>(std::string_view contents)>;

  // The first read must succeed: a server does not start on a bad policy.
  static absl::StatusOr<std::unique_ptr<ReloadingFile>> Open(
      std::string path, Parser parse, absl::Duration interval) {
    absl::StatusOr<std::string> contents = ReadSmallFile(path);
    if (!contents.ok()) return contents.status();
    absl::StatusOr<T> value = parse(*contents);
    if (!value.ok()) {
      return absl::Status(value.status().code(),
                          absl::StrCat(path, ": ", value.status().message()));
    }
    return std::unique_ptr<ReloadingFile>(
        new ReloadingFile(std::move(path), std::move(parse), interval,
                          std::move(*contents), std::move(*value)));
  }

  ~ReloadingFile() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    watcher_.join();
  }

  // The current value; it stays valid for as long as the caller holds it.
  std::shared_ptr<const T> Get() const {
    absl::ReaderMutexLock lock(&mu_);
    return value_;
  }

  // How many times the value was replaced since Open.
  int reloads() const {
    absl::ReaderMutexLock lock(&mu_);
    return reloads_;
  }

  const std::string& path() const { return path_; }

 private:
  ReloadingFile(std::string path, Parser parse, absl::Duration interval,
                std::string contents, T value)
      : path_(std::move(path)),
        parse_(std::move(parse)),
        interval_(std::max(interval, kMinReloadInterval)),
        contents_(std::move(contents)),
        value_(std::make_shared<const T>(std::move(value))),
        watcher_([this] { Watch(); }) {}

  void Watch() {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) {
      mu_.Unlock();
      ReloadIfChanged();
      mu_.Lock();
    }
  }

  // Runs without the lock: parsing must never hold up a Get().
  void ReloadIfChanged();

  const std::string path_;
  const Parser parse_;
  const absl::Duration interval_;
  // Only the watcher thread touches it after construction.
  std::string contents_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const T> value_ ABSL_GUARDED_BY(mu_);
  int reloads_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watcher_;
};

// Logs without the template, so that logging stays in one file.
void LogReloadFailure(const std::string& path, const absl::Status& status);
void LogReloaded(const std::string& path);

template <typename T>
void ReloadingFile<T>::ReloadIfChanged() {
  absl::StatusOr<std::string> contents = ReadSmallFile(path_);
  if (!contents.ok()) {
    // A file being replaced may be missing for a moment; keep the value.
    LogReloadFailure(path_, contents.status());
    return;
  }
  if (*contents == contents_) return;
  absl::StatusOr<T> value = parse_(*contents);
  if (!value.ok()) {
    // Remember the bad contents too, so that it is logged once, not every
    // interval until it is fixed.
    contents_ = std::move(*contents);
    LogReloadFailure(path_, value.status());
    return;
  }
  contents_ = std::move(*contents);
  auto replacement = std::make_shared<const T>(std::move(*value));
  {
    absl::MutexLock lock(&mu_);
    value_ = std::move(replacement);
    ++reloads_;
  }
  LogReloaded(path_);
}

}  // namespace thb

#endif  // THB_COMMON_RELOADING_FILE_H_
