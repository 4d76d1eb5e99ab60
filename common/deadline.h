#ifndef THB_COMMON_DEADLINE_H_
#define THB_COMMON_DEADLINE_H_

#include "absl/time/time.h"

namespace thb {

// The least time a call keeps to send its answer after its work gives up.
inline constexpr absl::Duration kMinAnswerMargin = absl::Milliseconds(50);

// When the work of a call must be done: its deadline `call_deadline`, or
// `now + default_timeout` when that is sooner (a call without a deadline
// has an infinite one), less a margin of a tenth of the time left and at
// least kMinAnswerMargin. Waits inside the call end a little before the
// caller gives up, so the caller hears why (UNAVAILABLE) rather than only
// DEADLINE_EXCEEDED.
absl::Time AnswerBy(absl::Time call_deadline, absl::Time now,
                    absl::Duration default_timeout);

}  // namespace thb

#endif  // THB_COMMON_DEADLINE_H_
