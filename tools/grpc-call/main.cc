// grpc-call: a generic gRPC client. It knows no service in advance; the
// server's reflection service describes the messages to encode and decode.

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/client_flags.h"
#include "common/config.h"
#include "common/tls.h"
#include "tools/grpc-call/commands.h"

THB_CLIENT_SECURITY_FLAGS();
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "Deadline of the whole command: reflection lookups and the call.");
ABSL_FLAG(thb::grpc_call::OutputFormat, format,
          thb::grpc_call::OutputFormat::kJson,
          "How messages and descriptors are printed: json or text.");
ABSL_FLAG(bool, proto_names, false,
          "Print JSON field names as in the .proto file, not lowerCamelCase.");
ABSL_FLAG(bool, emit_defaults, false,
          "Print JSON fields that hold their default value too.");
ABSL_FLAG(int64_t, max_messages, 0,
          "End a server-streaming call after this many responses (0: read "
          "until the server ends it or the deadline passes).");

namespace {

constexpr char kUsage[] =
    R"(calls gRPC servers that enable server reflection.

  grpc-call [flags] ADDRESS list [SERVICE]
      The services of the server, or the methods of one of them.
  grpc-call [flags] ADDRESS describe SYMBOL
      A service, method, message or enum, in .proto syntax (--format=text)
      or as its descriptor in JSON.
  grpc-call [flags] ADDRESS call SERVICE/METHOD [JSON|-]
      Sends the request (default {}, "-" reads it from stdin) and prints each
      response. Unary and server-streaming methods.
  grpc-call [flags] ADDRESS health [SERVICE]
      grpc.health.v1.Health/Check; exits 0 only when SERVING.

ADDRESS is host:port, spoken over TLS (--tls_ca, and --tls_cert/--tls_key
or --token to say who you are), or plaintext with --insecure. On an error
the exit code is the gRPC status code, and stderr has "ERROR: CODE:
message", the error details, and a hint when the failure was one of
security.)";

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(absl::StrCat(
      kUsage, "\n\n", thb::EnvironmentUsage(thb::ClientSecurityUsage())));
  if (absl::Status status =
          thb::ApplyEnvironment(thb::ClientSecurityBindings());
      !status.ok()) {
    std::cerr << "ERROR: " << status.message() << "\n";
    return 2;
  }
  // --help lists the flags of files named after the program; this one's
  // flags live in main.cc.
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "grpc-call/");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  usage_config.normalize_filename = [](absl::string_view file) {
    const size_t start = file.rfind("tools/grpc-call/");
    return std::string(start == absl::string_view::npos ? file
                                                        : file.substr(start));
  };
  absl::SetFlagsUsageConfig(usage_config);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);

  thb::grpc_call::Options options;
  options.timeout = absl::GetFlag(FLAGS_timeout);
  options.format = absl::GetFlag(FLAGS_format);
  options.proto_names = absl::GetFlag(FLAGS_proto_names);
  options.emit_defaults = absl::GetFlag(FLAGS_emit_defaults);
  options.max_messages = absl::GetFlag(FLAGS_max_messages);
  auto credentials =
      thb::MakeChannelCredentials(thb::ClientSecurityFromFlags());
  if (!credentials.ok()) {
    std::cerr << "ERROR: " << credentials.status().message() << "\n";
    return 2;
  }
  options.credentials = std::move(*credentials);

  std::vector<std::string> args(positional.begin() + 1, positional.end());
  return thb::grpc_call::Run(args, options, std::cout, std::cerr);
}
