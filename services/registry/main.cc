// thb-registry: countries, EMN status history, regions and organisations.

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
#include "services/registry/cooperation_citations.h"
#include "services/registry/reference_data.h"
#include "services/registry/registry_core.h"
#include "services/registry/registry_service.h"
#include "services/registry/sqlite_registry_store.h"

THB_SERVER_FLAGS(50051, 50061);
ABSL_FLAG(std::string, db, "thb-registry.sqlite3",
          "SQLite database file; created on first start.");
ABSL_FLAG(std::string, iso_codes, thb::registry::kDefaultIsoCodesPath,
          "ISO 3166-1 list (iso-codes JSON) the first start seeds from.");
ABSL_FLAG(int64_t, history_revisions, 10000,
          "Revisions of change history kept for Watch to resume from.");
ABSL_FLAG(int, write_threads, 4, "Threads that run writes.");
ABSL_FLAG(std::string, cooperation, "127.0.0.1:50052",
          "Address of thb-cooperation, asked before a region or organisation "
          "is deleted whether records cite it; empty deletes without asking "
          "(a registry deployed without cooperation records).");
ABSL_FLAG(absl::Duration, audit_retention, thb::audit::kDefaultRetention,
          "How long audit events are kept (older ones are deleted at start "
          "and by later writes).");

int main(int argc, char** argv) {
  thb::ParseFlagsWithEnvironment(
      argc, argv,
      thb::WithServerBindings(
          "REGISTRY", {{"db", "THB_REGISTRY_DB"},
                       {"iso_codes", "THB_ISO_CODES"},
                       {"history_revisions", "THB_REGISTRY_HISTORY_REVISIONS"},
                       {"write_threads", "THB_REGISTRY_WRITE_THREADS"},
                       {"cooperation", "THB_COOPERATION_ADDRESS"},
                       {"audit_retention", "THB_AUDIT_RETENTION"}}),
      "The country registry of thb.");
  thb::SetLogName("registry");

  thb::ServerOptions server_options = thb::ServerOptionsFromFlags();
  // No legal request comes near gRPC's default; see kMaxRequestBytes.
  server_options.max_receive_message_bytes = thb::registry::kMaxRequestBytes;
  thb::Server server(server_options);
  // Before any thread starts, so that they all inherit the blocked signals.
  thb::InstallSignalHandlers(&server);

  auto reference =
      thb::registry::LoadReferenceData(absl::GetFlag(FLAGS_iso_codes));
  if (!reference.ok()) {
    THB_LOG(Error) << reference.status();
    return EXIT_FAILURE;
  }
  auto store =
      thb::registry::SqliteRegistryStore::Open(absl::GetFlag(FLAGS_db));
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
  const std::string cooperation = absl::GetFlag(FLAGS_cooperation);
  std::unique_ptr<thb::registry::CooperationCitations> citations;
  if (cooperation.empty()) {
    THB_LOG(Warning) << "no --cooperation: regions and organisations are "
                        "deleted without asking whether records cite them";
  } else {
    citations = std::make_unique<thb::registry::CooperationCitations>(
        thb::MakeChannel(cooperation, *outgoing), cooperation);
  }
  thb::registry::CoreOptions core_options;
  core_options.citations = citations.get();
  core_options.history_revisions = absl::GetFlag(FLAGS_history_revisions);
  core_options.audit_retention = absl::GetFlag(FLAGS_audit_retention);
  auto core = thb::registry::RegistryCore::Open(std::move(*store), *reference,
                                                core_options);
  if (!core.ok()) {
    THB_LOG(Error) << core.status();
    return EXIT_FAILURE;
  }

  thb::Executor executor(absl::GetFlag(FLAGS_write_threads));
  thb::registry::RegistryService service(core->get(), &executor);
  server.AddService(&service);
  // Ready from the first moment it listens: the data is loaded.
  server.SetReady(
      thb::registry::v1::CountryRegistryService::service_full_name(), true);
  // Open Watch streams end UNAVAILABLE when the stop has drained, rather
  // than hold it until the grace period cancels them.
  server.OnStop([notifier = &(*core)->notifier()] { notifier->Close(); });
  if (auto status = server.Start(); !status.ok()) {
    THB_LOG(Error) << status;
    return EXIT_FAILURE;
  }
  THB_LOG(Info) << "serving thb.registry.v1.CountryRegistryService on "
                << server.address() << " at revision " << (*core)->revision()
                << " (" << absl::GetFlag(FLAGS_db) << ")";
  server.Wait();
  THB_LOG(Info) << "stopped";
  return EXIT_SUCCESS;
}
