#ifndef THB_SERVICES_COOPERATION_COOPERATION_SERVICE_H_
#define THB_SERVICES_COOPERATION_COOPERATION_SERVICE_H_

#include "absl/time/time.h"
#include "common/arena_allocator.h"
#include "common/executor.h"
#include "common/watch_reactor.h"
#include "services/cooperation/cooperation_core.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"

namespace thb::cooperation {

// The gRPC face of CooperationCore. Every call touches SQLite, so each runs
// on an executor: writes on `writers` (they wait for the disk), reads and
// Watch batches on `readers`, never on a reactor thread.
class CooperationService final
    : public v1::CooperationRecordService::CallbackService {
 public:
  static constexpr char kDomain[] = "cooperation.thb";

  CooperationService(CooperationCore* core, Executor* writers,
                     Executor* readers, absl::Duration default_timeout,
                     int max_watch_streams = kMaxWatchStreams)
      : core_(core),
        writers_(writers),
        readers_(readers),
        default_timeout_(default_timeout),
        watch_streams_(max_watch_streams) {
    SetMessageAllocatorFor_BatchCreateRecords(&batch_allocator_);
    SetMessageAllocatorFor_ListRecords(&list_allocator_);
  }

  grpc::ServerUnaryReactor* CreateRecord(
      grpc::CallbackServerContext* context,
      const v1::CreateRecordRequest* request,
      v1::CreateRecordResponse* response) override;
  grpc::ServerUnaryReactor* BatchCreateRecords(
      grpc::CallbackServerContext* context,
      const v1::BatchCreateRecordsRequest* request,
      v1::BatchCreateRecordsResponse* response) override;
  grpc::ServerUnaryReactor* GetRecord(grpc::CallbackServerContext* context,
                                      const v1::GetRecordRequest* request,
                                      v1::GetRecordResponse* response) override;
  grpc::ServerUnaryReactor* UpdateRecord(
      grpc::CallbackServerContext* context,
      const v1::UpdateRecordRequest* request,
      v1::UpdateRecordResponse* response) override;
  grpc::ServerUnaryReactor* DeleteRecord(
      grpc::CallbackServerContext* context,
      const v1::DeleteRecordRequest* request,
      v1::DeleteRecordResponse* response) override;
  grpc::ServerUnaryReactor* ListRecords(
      grpc::CallbackServerContext* context,
      const v1::ListRecordsRequest* request,
      v1::ListRecordsResponse* response) override;
  grpc::ServerUnaryReactor* ListAuditEvents(
      grpc::CallbackServerContext* context,
      const registry::v1::ListAuditEventsRequest* request,
      registry::v1::ListAuditEventsResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchResponse>* Watch(
      grpc::CallbackServerContext* context,
      const v1::WatchRequest* request) override;

 private:
  // When the work of a call must be done: the call's deadline (or now +
  // default_timeout_ when it has none) less a margin to send the answer.
  absl::Time Deadline(grpc::CallbackServerContext* context) const;

  CooperationCore* core_;
  Executor* writers_;
  Executor* readers_;
  absl::Duration default_timeout_;
  WatchStreamLimit watch_streams_;
  ArenaMessageAllocator<v1::BatchCreateRecordsRequest,
                        v1::BatchCreateRecordsResponse>
      batch_allocator_;
  ArenaMessageAllocator<v1::ListRecordsRequest, v1::ListRecordsResponse>
      list_allocator_;
};

}  // namespace thb::cooperation

#endif  // THB_SERVICES_COOPERATION_COOPERATION_SERVICE_H_
