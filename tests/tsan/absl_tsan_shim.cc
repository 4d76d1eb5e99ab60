// ThreadSanitizer annotations for Debian's prebuilt Abseil.
//
// absl::Mutex, absl::CondVar and absl::Notification live in
// libabsl_synchronization.so, which is not built with -fsanitize=thread: TSan
// never sees their lock and unlock, so every access guarded by an absl::Mutex
// looks like a race. Linked into a TSan binary, this file defines the same
// member functions: the executable's definitions take precedence over the
// library's (for our code and for the other shared libraries alike). Each
// tells TSan what happens (through the mutex annotations of
// sanitizer/tsan_interface.h, the ones Abseil itself uses when it is built
// with TSan) and calls the library's own function, found with
// dlsym(RTLD_NEXT). Accesses inside the library between a pre and a post
// annotation are ignored, as TSan does for its own interceptors; that covers
// the Condition functions Abseil evaluates while it holds the lock on a
// waiter's behalf.
//
// Only for builds with THB_SANITIZE=thread; see docs/DECISIONS.md.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

#define THB_STR2(x) #x
#define THB_STR(x) THB_STR2(x)

// The library's definition of the Abseil symbol whose mangled name, after
// the namespace prefix "_ZN4absl<inline namespace>" ("_ZNK..." for a const
// member function), is `rest`.
void* Real(const char* rest, bool is_const = false) {
  const char* ns = THB_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  std::string name = std::string(is_const ? "_ZNK4absl" : "_ZN4absl") +
                     std::to_string(std::strlen(ns)) + ns + rest;
  void* symbol = dlsym(RTLD_NEXT, name.c_str());
  if (symbol == nullptr) {
    std::fprintf(stderr, "absl_tsan_shim: no symbol %s\n", name.c_str());
    std::abort();
  }
  return symbol;
}

template <typename F>
F RealFn(const char* rest, bool is_const = false) {
  return reinterpret_cast<F>(Real(rest, is_const));
}

constexpr unsigned kRead = __tsan_mutex_read_lock;

// Abseil's functions call each other through the same symbols
// (LockWhenWithTimeout calls LockWhenWithDeadline, CondVar::WaitWithTimeout
// calls WaitWithDeadline, AwaitWithTimeout calls AwaitWithDeadline), and
// those inner calls land here too. Only the outermost call on a thread
// annotates; an inner one would tell TSan the mutex was locked twice.
thread_local int depth = 0;

class Outermost {
 public:
  Outermost() : outermost_(depth++ == 0) {}
  ~Outermost() { --depth; }
  Outermost(const Outermost&) = delete;
  Outermost& operator=(const Outermost&) = delete;
  explicit operator bool() const { return outermost_; }

 private:
  const bool outermost_;
};

// How the calling thread holds `mu` (0 or kRead), read from the mutex word
// as Abseil's own TSan build does in Mutex::AwaitCommon and
// CondVar::WaitCommon: Await and a CondVar wait may be called holding a
// reader lock, and TSan refuses an exclusive unlock of a shared lock.
unsigned HeldFlags(const absl::Mutex* mu) {
  static_assert(sizeof(absl::Mutex) == sizeof(std::atomic<intptr_t>),
                "absl::Mutex is its word alone");
  constexpr intptr_t kMuWriter = 0x0008;  // absl/synchronization/mutex.cc
  const auto* word = reinterpret_cast<const std::atomic<intptr_t>*>(mu);
  return (word->load(std::memory_order_relaxed) & kMuWriter) != 0 ? 0 : kRead;
}

// TSan's view of releasing `mu` while the library still holds it: before a
// call that releases it internally (CondVar::Wait, Mutex::Await).
void AnnotateRelease(void* mu, unsigned flags) {
  __tsan_mutex_pre_unlock(mu, flags);
  __tsan_mutex_post_unlock(mu, flags);
}
// ... and of taking it back once the call has returned holding it.
void AnnotateAcquire(void* mu, unsigned flags) {
  __tsan_mutex_pre_lock(mu, flags);
  __tsan_mutex_post_lock(mu, flags, 0);
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

using Self = Mutex*;

void Mutex::Lock() {
  static auto real = RealFn<void (*)(Self)>("5Mutex4LockEv");
  const Outermost outer;
  if (outer) __tsan_mutex_pre_lock(this, 0);
  real(this);
  if (outer) __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::ReaderLock() {
  static auto real = RealFn<void (*)(Self)>("5Mutex10ReaderLockEv");
  const Outermost outer;
  if (outer) __tsan_mutex_pre_lock(this, kRead);
  real(this);
  if (outer) __tsan_mutex_post_lock(this, kRead, 0);
}

bool Mutex::TryLock() {
  static auto real = RealFn<bool (*)(Self)>("5Mutex7TryLockEv");
  const Outermost outer;
  if (outer) __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
  const bool locked = real(this);
  if (outer) {
    __tsan_mutex_post_lock(
        this,
        __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  }
  return locked;
}

bool Mutex::ReaderTryLock() {
  static auto real = RealFn<bool (*)(Self)>("5Mutex13ReaderTryLockEv");
  const Outermost outer;
  if (outer) __tsan_mutex_pre_lock(this, kRead | __tsan_mutex_try_lock);
  const bool locked = real(this);
  if (outer) {
    __tsan_mutex_post_lock(this,
                           kRead | __tsan_mutex_try_lock |
                               (locked ? 0 : __tsan_mutex_try_lock_failed),
                           0);
  }
  return locked;
}

void Mutex::Unlock() {
  static auto real = RealFn<void (*)(Self)>("5Mutex6UnlockEv");
  const Outermost outer;
  if (outer) __tsan_mutex_pre_unlock(this, 0);
  real(this);
  if (outer) __tsan_mutex_post_unlock(this, 0);
}

void Mutex::ReaderUnlock() {
  static auto real = RealFn<void (*)(Self)>("5Mutex12ReaderUnlockEv");
  const Outermost outer;
  if (outer) __tsan_mutex_pre_unlock(this, kRead);
  real(this);
  if (outer) __tsan_mutex_post_unlock(this, kRead);
}

void Mutex::LockWhen(const Condition& cond) {
  static auto real = RealFn<void (*)(Self, const Condition&)>(
      "5Mutex8LockWhenERKNS0_9ConditionE");
  const Outermost outer;
  if (outer) __tsan_mutex_pre_lock(this, 0);
  real(this, cond);
  if (outer) __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static auto real = RealFn<void (*)(Self, const Condition&)>(
      "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  const Outermost outer;
  if (outer) __tsan_mutex_pre_lock(this, kRead);
  real(this, cond);
  if (outer) __tsan_mutex_post_lock(this, kRead, 0);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  static auto real = RealFn<bool (*)(Self, const Condition&, Duration)>(
      "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const Outermost outer;
  if (outer) __tsan_mutex_pre_lock(this, 0);
  const bool met = real(this, cond, timeout);
  if (outer) __tsan_mutex_post_lock(this, 0, 0);
  return met;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  static auto real = RealFn<bool (*)(Self, const Condition&, Time)>(
      "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const Outermost outer;
  if (outer) __tsan_mutex_pre_lock(this, 0);
  const bool met = real(this, cond, deadline);
  if (outer) __tsan_mutex_post_lock(this, 0, 0);
  return met;
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  static auto real = RealFn<bool (*)(Self, const Condition&, Duration)>(
      "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const Outermost outer;
  if (outer) __tsan_mutex_pre_lock(this, kRead);
  const bool met = real(this, cond, timeout);
  if (outer) __tsan_mutex_post_lock(this, kRead, 0);
  return met;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  static auto real = RealFn<bool (*)(Self, const Condition&, Time)>(
      "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const Outermost outer;
  if (outer) __tsan_mutex_pre_lock(this, kRead);
  const bool met = real(this, cond, deadline);
  if (outer) __tsan_mutex_post_lock(this, kRead, 0);
  return met;
}

// Await* are called holding the lock, exclusively or shared, and return
// holding it the same way, having released it in between.
void Mutex::Await(const Condition& cond) {
  static auto real = RealFn<void (*)(Self, const Condition&)>(
      "5Mutex5AwaitERKNS0_9ConditionE");
  const Outermost outer;
  const unsigned how = outer ? HeldFlags(this) : 0;
  if (outer) {
    AnnotateRelease(this, how);
    __tsan_mutex_pre_lock(this, how);
  }
  real(this, cond);
  if (outer) __tsan_mutex_post_lock(this, how, 0);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  static auto real = RealFn<bool (*)(Self, const Condition&, Duration)>(
      "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const Outermost outer;
  const unsigned how = outer ? HeldFlags(this) : 0;
  if (outer) {
    AnnotateRelease(this, how);
    __tsan_mutex_pre_lock(this, how);
  }
  const bool met = real(this, cond, timeout);
  if (outer) __tsan_mutex_post_lock(this, how, 0);
  return met;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  static auto real = RealFn<bool (*)(Self, const Condition&, Time)>(
      "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const Outermost outer;
  const unsigned how = outer ? HeldFlags(this) : 0;
  if (outer) {
    AnnotateRelease(this, how);
    __tsan_mutex_pre_lock(this, how);
  }
  const bool met = real(this, cond, deadline);
  if (outer) __tsan_mutex_post_lock(this, how, 0);
  return met;
}

void CondVar::Wait(Mutex* mu) {
  static auto real =
      RealFn<void (*)(CondVar*, Mutex*)>("7CondVar4WaitEPNS0_5MutexE");
  const Outermost outer;
  const unsigned how = outer ? HeldFlags(mu) : 0;
  if (outer) AnnotateRelease(mu, how);
  real(this, mu);
  if (outer) AnnotateAcquire(mu, how);
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  static auto real = RealFn<bool (*)(CondVar*, Mutex*, Duration)>(
      "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  const Outermost outer;
  const unsigned how = outer ? HeldFlags(mu) : 0;
  if (outer) AnnotateRelease(mu, how);
  const bool timed_out = real(this, mu, timeout);
  if (outer) AnnotateAcquire(mu, how);
  return timed_out;
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  static auto real = RealFn<bool (*)(CondVar*, Mutex*, Time)>(
      "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  const Outermost outer;
  const unsigned how = outer ? HeldFlags(mu) : 0;
  if (outer) AnnotateRelease(mu, how);
  const bool timed_out = real(this, mu, deadline);
  if (outer) AnnotateAcquire(mu, how);
  return timed_out;
}

// A notification orders what happened before Notify before what follows a
// wait that saw it.
void Notification::Notify() {
  static auto real = RealFn<void (*)(Notification*)>("12Notification6NotifyEv");
  const Outermost outer;
  if (outer) __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  static auto real = RealFn<void (*)(const Notification*)>(
      "12Notification19WaitForNotificationEv", true);
  const Outermost outer;
  real(this);
  if (outer) __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  static auto real = RealFn<bool (*)(const Notification*, Duration)>(
      "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE", true);
  const Outermost outer;
  const bool notified = real(this, timeout);
  if (outer && notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  static auto real = RealFn<bool (*)(const Notification*, Time)>(
      "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE", true);
  const Outermost outer;
  const bool notified = real(this, deadline);
  if (outer && notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
