#include "services/cooperation/cooperation_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/caller_of.h"
#include "common/deadline.h"
#include "common/unary.h"
#include "common/watch_reactor.h"

namespace thb::cooperation {
namespace {

// The caller of a write and its full method name, for the audit log.
audit::Invocation Called(grpc::CallbackServerContext* context,
                         const char* method) {
  return {CallerOf(*context),
          absl::StrCat("/", v1::CooperationRecordService::service_full_name(),
                       "/", method)};
}

}  // namespace

absl::Time CooperationService::Deadline(
    grpc::CallbackServerContext* context) const {
  return AnswerBy(absl::FromChrono(context->deadline()), absl::Now(),
                  default_timeout_);
}

grpc::ServerUnaryReactor* CooperationService::CreateRecord(
    grpc::CallbackServerContext* context,
    const v1::CreateRecordRequest* request,
    v1::CreateRecordResponse* response) {
  return OffloadUnary(context, writers_, response, kDomain,
                      [this, request, deadline = Deadline(context),
                       call = Called(context, "CreateRecord")] {
                        return core_->CreateRecord(*request, deadline, call);
                      });
}

grpc::ServerUnaryReactor* CooperationService::BatchCreateRecords(
    grpc::CallbackServerContext* context,
    const v1::BatchCreateRecordsRequest* request,
    v1::BatchCreateRecordsResponse* response) {
  return OffloadUnaryInto(
      context, writers_, response, kDomain,
      [this, request, deadline = Deadline(context),
       call = Called(context, "BatchCreateRecords")](
          v1::BatchCreateRecordsResponse* into) {
        // gRPC allocated the request for this call alone and reads nothing
        // of it once the call is handled: its records are moved, not copied.
        return core_->BatchCreateRecordsInto(
            const_cast<v1::BatchCreateRecordsRequest*>(request), deadline, call,
            into);
      });
}

grpc::ServerUnaryReactor* CooperationService::UpdateRecord(
    grpc::CallbackServerContext* context,
    const v1::UpdateRecordRequest* request,
    v1::UpdateRecordResponse* response) {
  return OffloadUnary(context, writers_, response, kDomain,
                      [this, request, deadline = Deadline(context),
                       call = Called(context, "UpdateRecord")] {
                        return core_->UpdateRecord(*request, deadline, call);
                      });
}

grpc::ServerUnaryReactor* CooperationService::DeleteRecord(
    grpc::CallbackServerContext* context,
    const v1::DeleteRecordRequest* request,
    v1::DeleteRecordResponse* response) {
  return OffloadUnary(context, writers_, response, kDomain,
                      [this, request, call = Called(context, "DeleteRecord")] {
                        return core_->DeleteRecord(*request, call);
                      });
}

grpc::ServerUnaryReactor* CooperationService::GetRecord(
    grpc::CallbackServerContext* context, const v1::GetRecordRequest* request,
    v1::GetRecordResponse* response) {
  return OffloadUnary(context, readers_, response, kDomain,
                      [this, request] { return core_->GetRecord(*request); });
}

grpc::ServerUnaryReactor* CooperationService::ListRecords(
    grpc::CallbackServerContext* context, const v1::ListRecordsRequest* request,
    v1::ListRecordsResponse* response) {
  return OffloadUnary(context, readers_, response, kDomain,
                      [this, request, deadline = Deadline(context)] {
                        return core_->ListRecords(*request, deadline);
                      });
}

grpc::ServerUnaryReactor* CooperationService::ListAuditEvents(
    grpc::CallbackServerContext* context,
    const registry::v1::ListAuditEventsRequest* request,
    registry::v1::ListAuditEventsResponse* response) {
  return OffloadUnary(context, readers_, response, kDomain, [this, request] {
    return core_->ListAuditEvents(*request);
  });
}

grpc::ServerWriteReactor<v1::WatchResponse>* CooperationService::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  return new WatchReactor<v1::WatchResponse>(
      context, request->from_revision(), &core_->notifier(),
      [core = core_, incarnation = request->incarnation()](int64_t after) {
        return core->ChangesAfter(after, incarnation);
      },
      kDomain, readers_, &watch_streams_);
}

}  // namespace thb::cooperation
