#ifndef THB_TESTS_SUPPORT_SERVERS_H_
#define THB_TESTS_SUPPORT_SERVERS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpc/health/v1/health.pb.h"
#include "tests/support/process.h"

namespace thb::testing {

// A suite binary running on a free loopback port with its database in
// `dir`; Restart() keeps the database.
class ServerProcess {
 public:
  // `binary` is started with --port=0, --port_file, --db=<dir>/<name>.sqlite3
  // (unless `with_db` is false: the aggregator keeps no database),
  // --drain=0s, a health port of its own, and TLS with the certificate of its
  // service ("thb-registry": "registry") and the policy of the TestPki, then
  // `args`. An `args` holding "--insecure" says so and gets no TLS flags.
  ServerProcess(std::string binary, std::string dir, std::string name,
                std::vector<std::string> args = {}, bool with_db = true);

  // Starts (or starts again) and waits until it listens.
  absl::Status Start();
  Process& process() { return *process_; }
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  // The plaintext health port.
  int health_port() const { return health_port_; }
  bool running() { return process_ != nullptr && process_->running(); }

 private:
  std::string binary_;
  std::string dir_;
  std::string name_;
  std::vector<std::string> args_;
  bool with_db_;
  int starts_ = 0;
  std::unique_ptr<Process> process_;
  std::string address_;
  int port_ = 0;
  int health_port_ = 0;
};

// The readiness the plaintext health port on 127.0.0.1 reports for
// `service`, or UNKNOWN when the port does not answer within 2 s.
grpc::health::v1::HealthCheckResponse::ServingStatus HealthPortStatus(
    int health_port, const std::string& service);

}  // namespace thb::testing

#endif  // THB_TESTS_SUPPORT_SERVERS_H_
