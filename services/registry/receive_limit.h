#ifndef THB_SERVICES_REGISTRY_RECEIVE_LIMIT_H_
#define THB_SERVICES_REGISTRY_RECEIVE_LIMIT_H_

namespace thb::registry {

// The largest request thb-registry takes. Its requests carry one resource
// (a country with its EMN history, a region with its members, an
// organisation) or a list of at most 1,000 codes, each capped by the
// registry's own validation far below this; the bound is what keeps a
// request that validation would refuse from costing 64 MiB of memory
// first. Raise it if a resource cap ever comes near it.
inline constexpr int kMaxReceiveMessageBytes = 1024 * 1024;

}  // namespace thb::registry

#endif  // THB_SERVICES_REGISTRY_RECEIVE_LIMIT_H_
