#include "services/registry/registry_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/caller_of.h"
#include "common/unary.h"
#include "common/watch_reactor.h"

namespace thb::registry {
namespace {

// The caller of a write and its full method name, for the audit log.
audit::Invocation Called(grpc::CallbackServerContext* context,
                         const char* method) {
  return {CallerOf(*context),
          absl::StrCat("/", v1::CountryRegistryService::service_full_name(),
                       "/", method)};
}

// The call's deadline, for the calls a write makes to other services.
absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  if (context.deadline() == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(context.deadline());
}

}  // namespace

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
  return OffloadUnary(context, executor_, response, kDomain,
                      [this, request, call = Called(context, "CreateCountry")] {
                        return core_->CreateCountry(*request, call);
                      });
}

grpc::ServerUnaryReactor* RegistryService::UpdateCountry(
    grpc::CallbackServerContext* context,
    const v1::UpdateCountryRequest* request,
    v1::UpdateCountryResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain,
                      [this, request, call = Called(context, "UpdateCountry")] {
                        return core_->UpdateCountry(*request, call);
                      });
}

grpc::ServerUnaryReactor* RegistryService::DeleteCountry(
    grpc::CallbackServerContext* context,
    const v1::DeleteCountryRequest* request,
    v1::DeleteCountryResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain,
                      [this, request, call = Called(context, "DeleteCountry")] {
                        return core_->DeleteCountry(*request, call);
                      });
}

grpc::ServerUnaryReactor* RegistryService::CreateRegion(
    grpc::CallbackServerContext* context,
    const v1::CreateRegionRequest* request,
    v1::CreateRegionResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain,
                      [this, request, call = Called(context, "CreateRegion")] {
                        return core_->CreateRegion(*request, call);
                      });
}

grpc::ServerUnaryReactor* RegistryService::UpdateRegion(
    grpc::CallbackServerContext* context,
    const v1::UpdateRegionRequest* request,
    v1::UpdateRegionResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain,
                      [this, request, call = Called(context, "UpdateRegion")] {
                        return core_->UpdateRegion(*request, call);
                      });
}

grpc::ServerUnaryReactor* RegistryService::DeleteRegion(
    grpc::CallbackServerContext* context,
    const v1::DeleteRegionRequest* request,
    v1::DeleteRegionResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain,
                      [this, request, call = Called(context, "DeleteRegion"),
                       deadline = DeadlineOf(*context)] {
                        return core_->DeleteRegion(*request, call, deadline);
                      });
}

grpc::ServerUnaryReactor* RegistryService::CreateOrganisation(
    grpc::CallbackServerContext* context,
    const v1::CreateOrganisationRequest* request,
    v1::CreateOrganisationResponse* response) {
  return OffloadUnary(
      context, executor_, response, kDomain,
      [this, request, call = Called(context, "CreateOrganisation")] {
        return core_->CreateOrganisation(*request, call);
      });
}

grpc::ServerUnaryReactor* RegistryService::UpdateOrganisation(
    grpc::CallbackServerContext* context,
    const v1::UpdateOrganisationRequest* request,
    v1::UpdateOrganisationResponse* response) {
  return OffloadUnary(
      context, executor_, response, kDomain,
      [this, request, call = Called(context, "UpdateOrganisation")] {
        return core_->UpdateOrganisation(*request, call);
      });
}

grpc::ServerUnaryReactor* RegistryService::DeleteOrganisation(
    grpc::CallbackServerContext* context,
    const v1::DeleteOrganisationRequest* request,
    v1::DeleteOrganisationResponse* response) {
  return OffloadUnary(
      context, executor_, response, kDomain,
      [this, request, call = Called(context, "DeleteOrganisation"),
       deadline = DeadlineOf(*context)] {
        return core_->DeleteOrganisation(*request, call, deadline);
      });
}

// The audit log is on disk: read on the executor.
grpc::ServerUnaryReactor* RegistryService::ListAuditEvents(
    grpc::CallbackServerContext* context,
    const v1::ListAuditEventsRequest* request,
    v1::ListAuditEventsResponse* response) {
  return OffloadUnary(context, executor_, response, kDomain, [this, request] {
    return core_->ListAuditEvents(*request);
  });
}

grpc::ServerWriteReactor<v1::WatchResponse>* RegistryService::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  return new WatchReactor<v1::WatchResponse>(
      context, request->from_revision(), &core_->notifier(),
      [core = core_, incarnation = request->incarnation()](int64_t after) {
        return core->ChangesAfter(after, incarnation);
      },
      kDomain, /*executor=*/nullptr, &watch_streams_);
}

}  // namespace thb::registry
