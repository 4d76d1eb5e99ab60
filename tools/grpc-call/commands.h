#ifndef THB_TOOLS_GRPC_CALL_COMMANDS_H_
#define THB_TOOLS_GRPC_CALL_COMMANDS_H_

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"

namespace thb::grpc_call {

enum class OutputFormat { kJson, kText };

// For absl flags: "json" or "text".
bool AbslParseFlag(absl::string_view text, OutputFormat* format,
                   std::string* error);
std::string AbslUnparseFlag(OutputFormat format);

struct Options {
  // Bounds the whole command: reflection lookups and the call together.
  absl::Duration timeout = absl::Seconds(10);
  OutputFormat format = OutputFormat::kJson;
  // JSON field names as in the .proto file instead of lowerCamelCase.
  bool proto_names = false;
  // JSON fields that hold their default value too.
  bool emit_defaults = false;
  // A server-streaming call ends after this many responses; 0 reads all.
  int64_t max_messages = 0;
  // How the channel is secured (common/tls.h: MakeChannelCredentials).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
};

// Runs `args` (ADDRESS COMMAND [ARG...]) and returns the exit code: 0 on
// success, else the canonical code number of the error, which goes to `err`
// as "ERROR: CODE_NAME: message" followed by the decoded error details.
int Run(const std::vector<std::string>& args, const Options& options,
        std::ostream& out, std::ostream& err);

}  // namespace thb::grpc_call

#endif  // THB_TOOLS_GRPC_CALL_COMMANDS_H_
