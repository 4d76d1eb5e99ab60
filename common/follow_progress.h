#ifndef THB_COMMON_FOLLOW_PROGRESS_H_
#define THB_COMMON_FOLLOW_PROGRESS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace thb {

// Watch streams in a row that end without delivering a change (and not
// because the service is unreachable) before a follower stops retrying the
// same request and lists again.
inline constexpr int kMaxWatchTriesWithoutProgress = 5;

// What a list+watch follower (the aggregator's index, the registry mirror)
// does when a watch stream ends: resume, or list again because resuming
// cannot work (the store was reset, replaced or compacted, or the same
// request keeps failing).
class FollowProgress {
 public:
  // Whether a call failed because its answer was larger than this client
  // may receive: asking the same again fails the same way.
  static bool TooLarge(const grpc::Status& status) {
    return status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
           absl::string_view(status.error_message()).find("larger than max") !=
               absl::string_view::npos;
  }

  // After a watch stream ended with `status`, having applied a change or
  // not: true when the follower must list again, with the reason in `why`.
  bool ShouldRelist(const grpc::Status& status, bool progressed,
                    std::string* why) {
    if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
      tries_ = 0;
      *why = status.error_message();
      return true;
    }
    if (progressed) tries_ = 0;
    if (TooLarge(status)) {
      tries_ = 0;
      *why = absl::StrCat(
          "a watch message is larger than this follower may "
          "receive (",
          status.error_message(), ")");
      return true;
    }
    // An unreachable service is waited for: listing cannot reach it either.
    if (progressed || status.error_code() == grpc::StatusCode::UNAVAILABLE ||
        status.error_code() == grpc::StatusCode::CANCELLED) {
      return false;
    }
    if (++tries_ < kMaxWatchTriesWithoutProgress) return false;
    tries_ = 0;
    *why = absl::StrCat(kMaxWatchTriesWithoutProgress,
                        " watch streams in a row ended without a change, the "
                        "last with ",
                        static_cast<int>(status.error_code()), " ",
                        status.error_message());
    return true;
  }

 private:
  int tries_ = 0;
};

}  // namespace thb

#endif  // THB_COMMON_FOLLOW_PROGRESS_H_
