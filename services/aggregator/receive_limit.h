#ifndef THB_SERVICES_AGGREGATOR_RECEIVE_LIMIT_H_
#define THB_SERVICES_AGGREGATOR_RECEIVE_LIMIT_H_

namespace thb::aggregator {

// The largest request thb-aggregator takes. The largest legal one is a
// Share of two queries of kMaxQueryNodes (64) filters each; a filter value
// is at most about 66 bytes on the wire (a tag or an id with its framing),
// so 4 MiB holds two such queries with about 150 values in each of a
// filter's string fields, above the per-field cap of the query validation.
// Raise it with that cap.
inline constexpr int kMaxReceiveMessageBytes = 4 * 1024 * 1024;

}  // namespace thb::aggregator

#endif  // THB_SERVICES_AGGREGATOR_RECEIVE_LIMIT_H_
