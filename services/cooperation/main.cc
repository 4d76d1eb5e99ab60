// thb-cooperation: cooperation records with their sources, validated against
// the registry.

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/audit_log.h"
#include "common/channel.h"
#include "common/config.h"
#include "common/executor.h"
#include "common/logging.h"
#include "common/server.h"
#include "common/server_flags.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/cooperation_service.h"
#include "services/cooperation/sqlite_cooperation_store.h"
#include "services/registry/client/registry_mirror.h"

THB_SERVER_FLAGS(50052, 50062);
ABSL_FLAG(std::string, db, "thb-cooperation.sqlite3",
          "SQLite database file; created on first start.");
ABSL_FLAG(std::string, registry, "127.0.0.1:50051",
          "Address of thb-registry, whose codes records are checked against.");
ABSL_FLAG(absl::Duration, registry_max_staleness, absl::Seconds(30),
          "How long after losing the registry its last known codes still "
          "validate writes; later, writes answer UNAVAILABLE.");
ABSL_FLAG(int64_t, history_revisions, 10000,
          "Revisions of change history kept for Watch to resume from (and of "
          "request ids remembered for idempotent retries).");
ABSL_FLAG(int, read_threads, 4, "Threads that run reads and Watch batches.");
ABSL_FLAG(int, write_threads, 2, "Threads that run writes.");
ABSL_FLAG(absl::Duration, audit_retention, thb::audit::kDefaultRetention,
          "How long audit events are kept (older ones are deleted at start "
          "and by later writes).");
ABSL_FLAG(absl::Duration, default_timeout, absl::Seconds(30),
          "Deadline of a call that brings none.");

int main(int argc, char** argv) {
  thb::ParseFlagsWithEnvironment(
      argc, argv,
      thb::WithServerBindings(
          "COOPERATION",
          {{"db", "THB_COOPERATION_DB"},
           {"registry", "THB_REGISTRY_ADDRESS"},
           {"registry_max_staleness", "THB_REGISTRY_MAX_STALENESS"},
           {"history_revisions", "THB_COOPERATION_HISTORY_REVISIONS"},
           {"read_threads", "THB_COOPERATION_READ_THREADS"},
           {"write_threads", "THB_COOPERATION_WRITE_THREADS"},
           {"audit_retention", "THB_AUDIT_RETENTION"},
           {"default_timeout", "THB_DEFAULT_TIMEOUT"}}),
      "The cooperation record store of thb.");
  thb::SetLogName("cooperation");

  thb::ServerOptions server_options = thb::ServerOptionsFromFlags();
  server_options.max_receive_message_bytes =
      thb::cooperation::kMaxReceiveMessageBytes;
  thb::Server server(std::move(server_options));
  thb::InstallSignalHandlers(&server);

  auto store =
      thb::cooperation::SqliteCooperationStore::Open(absl::GetFlag(FLAGS_db));
  if (!store.ok()) {
    THB_LOG(Error) << "opening " << absl::GetFlag(FLAGS_db) << ": "
                   << store.status();
    return EXIT_FAILURE;
  }

  const auto outgoing = thb::OutgoingChannelOptionsFromFlags();
  if (!outgoing.ok()) {
    THB_LOG(Error) << outgoing.status();
    return EXIT_FAILURE;
  }

  thb::registry::RegistryMirror::Options mirror_options;
  mirror_options.address = absl::GetFlag(FLAGS_registry);
  mirror_options.max_staleness = absl::GetFlag(FLAGS_registry_max_staleness);
  thb::registry::RegistryMirror registry(
      thb::MakeChannel(absl::GetFlag(FLAGS_registry), *outgoing),
      mirror_options);
  registry.Start();

  thb::cooperation::CoreOptions core_options;
  core_options.history_revisions = absl::GetFlag(FLAGS_history_revisions);
  core_options.audit_retention = absl::GetFlag(FLAGS_audit_retention);
  auto core = thb::cooperation::CooperationCore::Open(std::move(*store),
                                                      &registry, core_options);
  if (!core.ok()) {
    THB_LOG(Error) << core.status();
    return EXIT_FAILURE;
  }

  thb::Executor writers(absl::GetFlag(FLAGS_write_threads));
  thb::Executor readers(absl::GetFlag(FLAGS_read_threads));
  thb::cooperation::CooperationService service(
      core->get(), &writers, &readers, absl::GetFlag(FLAGS_default_timeout));
  server.AddService(&service);
  // Reads work without the registry, so readiness does not wait for it;
  // writes answer UNAVAILABLE until its codes are known.
  server.SetReady(
      thb::cooperation::v1::CooperationRecordService::service_full_name(),
      true);
  // Open Watch streams end UNAVAILABLE when the stop has drained, rather
  // than hold it until the grace period cancels them.
  server.OnStop([notifier = &(*core)->notifier()] { notifier->Close(); });
  if (auto status = server.Start(); !status.ok()) {
    THB_LOG(Error) << status;
    return EXIT_FAILURE;
  }
  THB_LOG(Info) << "serving thb.cooperation.v1.CooperationRecordService on "
                << server.address() << " at revision " << (*core)->revision()
                << " (" << absl::GetFlag(FLAGS_db) << "; registry "
                << absl::GetFlag(FLAGS_registry) << ")";
  server.Wait();
  registry.Stop();
  THB_LOG(Info) << "stopped";
  return EXIT_SUCCESS;
}
