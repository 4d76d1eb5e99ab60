#include "common/deadline.h"

#include <algorithm>

namespace thb {

absl::Time AnswerBy(absl::Time call_deadline, absl::Time now,
                    absl::Duration default_timeout) {
  const absl::Time deadline = std::min(call_deadline, now + default_timeout);
  return deadline - std::max(kMinAnswerMargin, (deadline - now) / 10);
}

}  // namespace thb
