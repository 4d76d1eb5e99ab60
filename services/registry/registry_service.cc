#include "services/registry/registry_service.h"

#include "common/unary.h"
#include "common/watch_reactor.h"

namespace thb::registry {

// Reads: in memory, answered on the reactor thread.

grpc::ServerUnaryReactor* RegistryService::GetCountry(
    grpc::CallbackServerContext* context, const v1::GetCountryRequest* request,
    v1::GetCountryResponse* response) {
  return FinishUnary(context, core_->GetCountry(*request), response, kDomain);
}

grpc::ServerUnaryReactor* RegistryService::BatchGetCountries(
    grpc::CallbackServerContext* context,
    const v1::BatchGetCountriesRequest* request,
    v1::BatchGetCountriesResponse* response) {
  return FinishUnary(context, core_->BatchGetCountries(*request), response,
                     kDomain);
}

grpc::ServerUnaryReactor* RegistryService::ListCountries(
    grpc::CallbackServerContext* context,
    const v1::ListCountriesRequest* request,
    v1::ListCountriesResponse* response) {
  return FinishUnary(context, core_->ListCountries(*request), response,
                     kDomain);
}

grpc::ServerUnaryReactor* RegistryService::GetRegion(
    grpc::CallbackServerContext* context, const v1::GetRegionRequest* request,
    v1::GetRegionResponse* response) {
  return FinishUnary(context, core_->GetRegion(*request), response, kDomain);
}

grpc::ServerUnaryReactor* RegistryService::ListRegions(
    grpc::CallbackServerContext* context, const v1::ListRegionsRequest* request,
    v1::ListRegionsResponse* response) {
  return FinishUnary(context, core_->ListRegions(*request), response, kDomain);
}

grpc::ServerUnaryReactor* RegistryService::GetOrganisation(
    grpc::CallbackServerContext* context,
    const v1::GetOrganisationRequest* request,
    v1::GetOrganisationResponse* response) {
  return FinishUnary(context, core_->GetOrganisation(*request), response,
                     kDomain);
}

grpc::ServerUnaryReactor* RegistryService::ListOrganisations(
    grpc::CallbackServerContext* context,
    const v1::ListOrganisationsRequest* request,
    v1::ListOrganisationsResponse* response) {
  return FinishUnary(context, core_->ListOrganisations(*request), response,
                     kDomain);
}

// Writes: durable before they answer, so they run on the executor.

grpc::ServerUnaryReactor* RegistryService::CreateCountry(
    grpc::CallbackServerContext* context,
    const v1::CreateCountryRequest* request,
    v1::CreateCountryResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain, [this, request] {
    return core_->CreateCountry(*request);
  });
}

grpc::ServerUnaryReactor* RegistryService::UpdateCountry(
    grpc::CallbackServerContext* context,
    const v1::UpdateCountryRequest* request,
    v1::UpdateCountryResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain, [this, request] {
    return core_->UpdateCountry(*request);
  });
}

grpc::ServerUnaryReactor* RegistryService::DeleteCountry(
    grpc::CallbackServerContext* context,
    const v1::DeleteCountryRequest* request,
    v1::DeleteCountryResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain, [this, request] {
    return core_->DeleteCountry(*request);
  });
}

grpc::ServerUnaryReactor* RegistryService::CreateRegion(
    grpc::CallbackServerContext* context,
    const v1::CreateRegionRequest* request,
    v1::CreateRegionResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain, [this, request] {
    return core_->CreateRegion(*request);
  });
}

grpc::ServerUnaryReactor* RegistryService::UpdateRegion(
    grpc::CallbackServerContext* context,
    const v1::UpdateRegionRequest* request,
    v1::UpdateRegionResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain, [this, request] {
    return core_->UpdateRegion(*request);
  });
}

grpc::ServerUnaryReactor* RegistryService::DeleteRegion(
    grpc::CallbackServerContext* context,
    const v1::DeleteRegionRequest* request,
    v1::DeleteRegionResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain, [this, request] {
    return core_->DeleteRegion(*request);
  });
}

grpc::ServerUnaryReactor* RegistryService::CreateOrganisation(
    grpc::CallbackServerContext* context,
    const v1::CreateOrganisationRequest* request,
    v1::CreateOrganisationResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain, [this, request] {
    return core_->CreateOrganisation(*request);
  });
}

grpc::ServerUnaryReactor* RegistryService::UpdateOrganisation(
    grpc::CallbackServerContext* context,
    const v1::UpdateOrganisationRequest* request,
    v1::UpdateOrganisationResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain, [this, request] {
    return core_->UpdateOrganisation(*request);
  });
}

grpc::ServerUnaryReactor* RegistryService::DeleteOrganisation(
    grpc::CallbackServerContext* context,
    const v1::DeleteOrganisationRequest* request,
    v1::DeleteOrganisationResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain, [this, request] {
    return core_->DeleteOrganisation(*request);
  });
}

grpc::ServerWriteReactor<v1::WatchResponse>* RegistryService::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  return new WatchReactor<v1::WatchResponse>(
      context, request->from_revision(), &core_->notifier(),
      [core = core_](int64_t after) { return core->ChangesAfter(after); },
      kDomain);
}

}  // namespace thb::registry
