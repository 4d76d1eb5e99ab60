#ifndef THB_DOMAIN_TAGS_H_
#define THB_DOMAIN_TAGS_H_

#include <cstddef>

namespace thb::domain {

// The longest tag a record may carry, and so the longest a filter may name:
// one bound for both, or a tag could be written that no query can select.
inline constexpr size_t kMaxTagLength = 64;

}  // namespace thb::domain

#endif  // THB_DOMAIN_TAGS_H_
