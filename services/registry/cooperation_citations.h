#ifndef THB_SERVICES_REGISTRY_COOPERATION_CITATIONS_H_
#define THB_SERVICES_REGISTRY_COOPERATION_CITATIONS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "services/registry/registry_core.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"

namespace thb::registry {

// The longest a deletion waits for thb-cooperation to say whether records
// cite what it deletes, whatever the caller's deadline.
inline constexpr absl::Duration kMaxCitationCheckTime = absl::Seconds(5);

// Citations answered by thb-cooperation's ListRecords: the first record whose
// target_regions (for a region) or partner ids (for an organisation) name
// the id.
class CooperationCitations : public Citations {
 public:
  // `address` names the service in errors.
  CooperationCitations(std::shared_ptr<grpc::Channel> channel,
                       std::string address);

  absl::StatusOr<std::optional<std::string>> FirstCitingRecord(
      ResourceKind kind, const std::string& id,
      absl::Time deadline) const override;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<cooperation::v1::CooperationRecordService::Stub> stub_;
  std::string address_;
};

}  // namespace thb::registry

#endif  // THB_SERVICES_REGISTRY_COOPERATION_CITATIONS_H_
