#include "tests/support/servers.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/string_view.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "tests/support/test_pki.h"

namespace thb::testing {

ServerProcess::ServerProcess(std::string binary, std::string dir,
                             std::string name, std::vector<std::string> args,
                             bool with_db)
    : binary_(std::move(binary)),
      dir_(std::move(dir)),
      name_(std::move(name)),
      args_(std::move(args)),
      with_db_(with_db) {}

absl::Status ServerProcess::Start() {
  if (process_ != nullptr) process_->Kill();
  const std::string port_file =
      absl::StrCat(dir_, "/", name_, ".port-", ++starts_);
  const std::string health_port_file =
      absl::StrCat(dir_, "/", name_, ".health-port-", starts_);
  std::vector<std::string> args = {
      "--port=0", absl::StrCat("--port_file=", port_file), "--drain=0s",
      "--health_port=0", absl::StrCat("--health_port_file=", health_port_file)};
  if (with_db_)
    args.push_back(absl::StrCat("--db=", dir_, "/", name_, ".sqlite3"));
  if (std::find(args_.begin(), args_.end(), "--insecure") == args_.end()) {
    absl::string_view service = binary_;
    service = service.substr(service.rfind('/') + 1);
    absl::ConsumePrefix(&service, "thb-");
    for (std::string& arg : TestPki::Get().ServerArgs(ToStd(service))) {
      args.push_back(std::move(arg));
    }
  }
  args.insert(args.end(), args_.begin(), args_.end());
  // Another ServerProcess of the same name in `dir` (the same server started
  // again) may have left these: a stale port must not pass for a new one.
  std::remove(port_file.c_str());
  std::remove(health_port_file.c_str());
  auto process = Process::Start(binary_, args);
  if (!process.ok()) return process.status();
  process_ = std::make_unique<Process>(std::move(*process));
  auto port = WaitForPortFile(port_file, *process_, absl::Seconds(30));
  if (!port.ok()) return port.status();
  port_ = *port;
  auto health_port =
      WaitForPortFile(health_port_file, *process_, absl::Seconds(30));
  if (!health_port.ok()) return health_port.status();
  health_port_ = *health_port;
  address_ = absl::StrCat("127.0.0.1:", port_);
  return absl::OkStatus();
}

grpc::health::v1::HealthCheckResponse::ServingStatus HealthPortStatus(
    int health_port, const std::string& service) {
  using grpc::health::v1::HealthCheckResponse;
  // The health port is plaintext by design: it serves health and nothing else.
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", health_port),
                          grpc::InsecureChannelCredentials()));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  if (!stub->Check(&context, request, &response).ok()) {
    return HealthCheckResponse::UNKNOWN;
  }
  return response.status();
}

}  // namespace thb::testing
