#include "services/registry/cooperation_citations.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/client_context.h"

namespace thb::registry {

CooperationCitations::CooperationCitations(
    std::shared_ptr<grpc::Channel> channel, std::string address)
    : channel_(std::move(channel)),
      stub_(cooperation::v1::CooperationRecordService::NewStub(channel_)),
      address_(std::move(address)) {}

absl::StatusOr<std::optional<std::string>>
CooperationCitations::FirstCitingRecord(ResourceKind kind,
                                        const std::string& id,
                                        absl::Time deadline) const {
  deadline = std::min(deadline, absl::Now() + kMaxCitationCheckTime);
  const char* type = kind == ResourceKind::kRegion ? "region" : "organisation";
  cooperation::v1::ListRecordsRequest request;
  request.set_page_size(1);
  if (kind == ResourceKind::kRegion) {
    request.mutable_filter()->add_target_regions(id);
  } else {
    request.mutable_filter()->add_partner_ids(id);
  }
  // Deletions are rare, so the channel may have backed off far into the
  // future after cooperation was last down: try to connect now, and wait
  // for the connection within the deadline rather than fail at once.
  grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
  // A page may come back empty with a token when the service bounds the
  // work of one call; follow it until a record or the end.
  do {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    context.set_wait_for_ready(true);
    cooperation::v1::ListRecordsResponse response;
    const grpc::Status status =
        stub_->ListRecords(&context, request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot learn from the cooperation service at ", address_,
          " whether records cite ", type, " \"", id, "\" (",
          status.error_message(),
          "), so it is not deleted; retry when that service answers"));
    }
    if (!response.records().empty()) return response.records(0).id();
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return std::nullopt;
}

}  // namespace thb::registry
