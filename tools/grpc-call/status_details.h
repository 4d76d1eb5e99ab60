#ifndef THB_TOOLS_GRPC_CALL_STATUS_DETAILS_H_
#define THB_TOOLS_GRPC_CALL_STATUS_DETAILS_H_

#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"

namespace thb::grpc_call {

// Describes the details of a serialized google.rpc.Status, one line per item,
// indented by two spaces: field violations ("field <path>: <description>")
// and error reasons ("reason <reason> (domain <domain>) key=value...") in
// words, any other detail as its type name and JSON. Detail types are looked
// up in `pool`, so a pool backed by server reflection decodes whatever the
// server sends; a type the pool cannot find is named with its size.
std::vector<std::string> DescribeStatusDetails(
    const std::string& serialized_status,
    const google::protobuf::DescriptorPool& pool);

}  // namespace thb::grpc_call

#endif  // THB_TOOLS_GRPC_CALL_STATUS_DETAILS_H_
