#ifndef THB_COMMON_MESSAGE_BUDGET_H_
#define THB_COMMON_MESSAGE_BUDGET_H_

#include <cstddef>
#include <cstdint>

namespace thb {

// Bytes of items one List page or one Watch message may carry. Well under
// the 4 MiB a gRPC client receives by default (and the 64 MiB our channels
// allow), so that any follower can read every answer: a page or a batch
// larger than its receive limit would fail the same request forever.
inline constexpr size_t kMaxListPageBytes = 1 << 20;
inline constexpr size_t kMaxWatchBatchBytes = 1 << 20;

// The bytes an item of `bytes` adds to a repeated message field: its tag
// and length prefix too.
constexpr size_t RepeatedFieldBytes(size_t bytes) {
  size_t prefix = 2;
  for (size_t rest = bytes >> 7; rest != 0; rest >>= 7) ++prefix;
  return bytes + prefix;
}

// Fills a page item by item up to `limit` bytes. The first item always fits
// (so a page always makes progress), and once one is refused every later
// one is too (so a page never skips an item that did not fit).
class PageBudget {
 public:
  explicit PageBudget(size_t limit) : limit_(limit) {}

  // Counts an item of `bytes` (serialized) if it fits.
  bool Take(size_t bytes) {
    if (full_) return false;
    const size_t added = RepeatedFieldBytes(bytes);
    if (taken_ > 0 && used_ + added > limit_) {
      full_ = true;
      return false;
    }
    used_ += added;
    ++taken_;
    return true;
  }

 private:
  size_t limit_;
  size_t used_ = 0;
  int64_t taken_ = 0;
  bool full_ = false;
};

// Ends a Watch batch of whole revisions at `limit` bytes. Changes are
// offered in revision order; the batch keeps the longest run of whole
// revisions within the limit, and always the first revision, even one larger
// than the limit, so that a follower always makes progress.
class RevisionBatchBudget {
 public:
  explicit RevisionBatchBudget(size_t limit) : limit_(limit) {}

  // Offers the next change. False when the batch is complete without it:
  // stop offering and keep the first kept() changes.
  bool Offer(int64_t revision, size_t bytes) {
    if (complete_) return false;
    if (count_ > 0 && revision != revision_) {
      // The previous revision is whole now.
      if (used_ > limit_ && whole_count_ > 0) {
        complete_ = true;
        return false;
      }
      whole_count_ = count_;
      if (used_ >= limit_) {
        complete_ = true;
        return false;
      }
    }
    revision_ = revision;
    used_ += RepeatedFieldBytes(bytes);
    ++count_;
    return true;
  }

  // How many of the offered changes the batch keeps, once offering stopped
  // (Offer returned false, or there were no more changes: then the last
  // revision offered is taken to be whole).
  size_t kept() const {
    if (complete_) return whole_count_;
    if (used_ > limit_ && whole_count_ > 0) return whole_count_;
    return count_;
  }

 private:
  size_t limit_;
  size_t used_ = 0;
  size_t count_ = 0;
  // Changes up to the end of the last revision known to be whole.
  size_t whole_count_ = 0;
  int64_t revision_ = 0;
  bool complete_ = false;
};

}  // namespace thb

#endif  // THB_COMMON_MESSAGE_BUDGET_H_
