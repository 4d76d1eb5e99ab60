#ifndef THB_SERVICES_REGISTRY_REGISTRY_SERVICE_H_
#define THB_SERVICES_REGISTRY_REGISTRY_SERVICE_H_

#include "common/executor.h"
#include "common/watch_reactor.h"
#include "services/registry/registry_core.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"

namespace thb::registry {

// The gRPC face of RegistryCore. Reads are served from memory on the
// reactor thread; writes and audit log reads wait for the disk, so they run
// on the executor; Watch streams are driven by the core's revision notifier.
class RegistryService final
    : public v1::CountryRegistryService::CallbackService {
 public:
  static constexpr char kDomain[] = "registry.thb";

  RegistryService(RegistryCore* core, Executor* executor,
                  int max_watch_streams = kMaxWatchStreams)
      : core_(core), executor_(executor), watch_streams_(max_watch_streams) {}

  grpc::ServerUnaryReactor* GetCountry(
      grpc::CallbackServerContext* context,
      const v1::GetCountryRequest* request,
      v1::GetCountryResponse* response) override;
  grpc::ServerUnaryReactor* BatchGetCountries(
      grpc::CallbackServerContext* context,
      const v1::BatchGetCountriesRequest* request,
      v1::BatchGetCountriesResponse* response) override;
  grpc::ServerUnaryReactor* ListCountries(
      grpc::CallbackServerContext* context,
      const v1::ListCountriesRequest* request,
      v1::ListCountriesResponse* response) override;
  grpc::ServerUnaryReactor* CreateCountry(
      grpc::CallbackServerContext* context,
      const v1::CreateCountryRequest* request,
      v1::CreateCountryResponse* response) override;
  grpc::ServerUnaryReactor* UpdateCountry(
      grpc::CallbackServerContext* context,
      const v1::UpdateCountryRequest* request,
      v1::UpdateCountryResponse* response) override;
  grpc::ServerUnaryReactor* DeleteCountry(
      grpc::CallbackServerContext* context,
      const v1::DeleteCountryRequest* request,
      v1::DeleteCountryResponse* response) override;

  grpc::ServerUnaryReactor* GetRegion(grpc::CallbackServerContext* context,
                                      const v1::GetRegionRequest* request,
                                      v1::GetRegionResponse* response) override;
  grpc::ServerUnaryReactor* ListRegions(
      grpc::CallbackServerContext* context,
      const v1::ListRegionsRequest* request,
      v1::ListRegionsResponse* response) override;
  grpc::ServerUnaryReactor* CreateRegion(
      grpc::CallbackServerContext* context,
      const v1::CreateRegionRequest* request,
      v1::CreateRegionResponse* response) override;
  grpc::ServerUnaryReactor* UpdateRegion(
      grpc::CallbackServerContext* context,
      const v1::UpdateRegionRequest* request,
      v1::UpdateRegionResponse* response) override;
  grpc::ServerUnaryReactor* DeleteRegion(
      grpc::CallbackServerContext* context,
      const v1::DeleteRegionRequest* request,
      v1::DeleteRegionResponse* response) override;

  grpc::ServerUnaryReactor* GetOrganisation(
      grpc::CallbackServerContext* context,
      const v1::GetOrganisationRequest* request,
      v1::GetOrganisationResponse* response) override;
  grpc::ServerUnaryReactor* ListOrganisations(
      grpc::CallbackServerContext* context,
      const v1::ListOrganisationsRequest* request,
      v1::ListOrganisationsResponse* response) override;
  grpc::ServerUnaryReactor* CreateOrganisation(
      grpc::CallbackServerContext* context,
      const v1::CreateOrganisationRequest* request,
      v1::CreateOrganisationResponse* response) override;
  grpc::ServerUnaryReactor* UpdateOrganisation(
      grpc::CallbackServerContext* context,
      const v1::UpdateOrganisationRequest* request,
      v1::UpdateOrganisationResponse* response) override;
  grpc::ServerUnaryReactor* DeleteOrganisation(
      grpc::CallbackServerContext* context,
      const v1::DeleteOrganisationRequest* request,
      v1::DeleteOrganisationResponse* response) override;

  grpc::ServerUnaryReactor* ListAuditEvents(
      grpc::CallbackServerContext* context,
      const v1::ListAuditEventsRequest* request,
      v1::ListAuditEventsResponse* response) override;

  grpc::ServerWriteReactor<v1::WatchResponse>* Watch(
      grpc::CallbackServerContext* context,
      const v1::WatchRequest* request) override;

 private:
  RegistryCore* core_;
  Executor* executor_;
  WatchStreamLimit watch_streams_;
};

}  // namespace thb::registry

#endif  // THB_SERVICES_REGISTRY_REGISTRY_SERVICE_H_
