#ifndef THB_TOOLS_THBCTL_CLI_H_
#define THB_TOOLS_THBCTL_CLI_H_

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb::thbctl {

inline constexpr int kExitOk = 0;
// An error, or a check that found errors.
inline constexpr int kExitFailure = 1;
// A mistake on the command line.
inline constexpr int kExitUsage = 2;

// A mistake on the command line; reported with a pointer to the usage and
// exit code 2.
absl::Status UsageError(std::string_view message);
bool IsUsageError(const absl::Status& status);

// A command that has printed what went wrong already (the data-quality
// check's findings): `summary` closes the report, exit code 1.
absl::Status ReportedFailure(std::string_view summary);

// Prints `status` to `err` as "thbctl: CODE: message", then one line per
// BadRequest field violation, and returns the exit code.
int ReportError(const absl::Status& status, std::ostream& err);

// The error of a call, with the details the server sent. When the service
// did not answer at all (UNAVAILABLE, DEADLINE_EXCEEDED), the message names
// it and its address: the server's message cannot.
absl::Status CallError(std::string_view service, std::string_view address,
                       const grpc::Status& status);

// One service and a stub for it. Every call has its own deadline.
template <typename Stub>
class Client {
 public:
  Client(std::string service, std::string address, absl::Duration timeout,
         std::unique_ptr<Stub> stub)
      : service_(std::move(service)),
        address_(std::move(address)),
        timeout_(timeout),
        stub_(std::move(stub)) {}

  // Calls a unary method of the stub:
  //   client.Call(&Stub::GetRecord, request)
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                   Response*),
      const Request& request) const {
    std::unique_ptr<grpc::ClientContext> context = MakeClientContext(timeout_);
    Response response;
    const grpc::Status status =
        ((*stub_).*method)(context.get(), request, &response);
    if (!status.ok()) return CallError(service_, address_, status);
    return response;
  }

  // Calls a List method page after page until the last one, handing each
  // response to `each` (which returns OK to go on).
  template <typename Request, typename Response, typename Each>
  absl::Status ForEachPage(grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                        const Request&,
                                                        Response*),
                           Request request, Each each) const {
    while (true) {
      absl::StatusOr<Response> page = Call(method, request);
      if (!page.ok()) return page.status();
      if (absl::Status status = each(*page); !status.ok()) return status;
      if (page->next_page_token().empty()) return absl::OkStatus();
      request.set_page_token(page->next_page_token());
    }
  }

 private:
  std::string service_;
  std::string address_;
  absl::Duration timeout_;
  std::unique_ptr<Stub> stub_;
};

using RegistryStub = registry::v1::CountryRegistryService::Stub;
using CooperationStub = cooperation::v1::CooperationRecordService::Stub;
using StatsStub = stats::v1::StatisticsService::Stub;

// Where the services listen, as the user gave it (a comma-separated list
// spreads calls round-robin), and how long one call may take.
struct Endpoints {
  std::string registry;
  std::string cooperation;
  std::string aggregator;
  absl::Duration timeout = absl::Seconds(30);
  // How every channel is secured (MakeChannelCredentials).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
};

// The clients of a command, each made on first use, so that a command
// connects to the services it needs and no other.
class Clients {
 public:
  explicit Clients(Endpoints endpoints) : endpoints_(std::move(endpoints)) {}

  const Client<RegistryStub>& registry();
  const Client<CooperationStub>& cooperation();
  // The aggregator (thb.stats.v1); a list of addresses spreads the calls
  // round-robin.
  const Client<StatsStub>& stats();

  const Endpoints& endpoints() const { return endpoints_; }

 private:
  Endpoints endpoints_;
  std::unique_ptr<Client<RegistryStub>> registry_;
  std::unique_ptr<Client<CooperationStub>> cooperation_;
  std::unique_ptr<Client<StatsStub>> stats_;
};

}  // namespace thb::thbctl

#endif  // THB_TOOLS_THBCTL_CLI_H_
