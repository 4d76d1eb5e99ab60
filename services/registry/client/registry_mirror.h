#ifndef THB_SERVICES_REGISTRY_CLIENT_REGISTRY_MIRROR_H_
#define THB_SERVICES_REGISTRY_CLIENT_REGISTRY_MIRROR_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/list_watch.h"
#include "grpcpp/channel.h"
#include "services/registry/client/registry_snapshot.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"

namespace thb::registry {

// A local copy of the registry kept current by list, then watch (the
// Kubernetes informer pattern): a background thread lists countries,
// regions and organisations, watches from the list's revision, resumes after
// a broken stream from the last revision it applied, and lists again when
// resuming cannot work: the registry answers OUT_OF_RANGE, its incarnation
// changes or its revision moves backwards (its store was replaced or
// restored from an older copy), or watching makes no progress. Lookups never
// wait for the network.
class RegistryMirror : public References {
 public:
  struct Options {
    // Deadline of each List call.
    absl::Duration call_timeout = absl::Seconds(10);
    absl::Duration initial_backoff = absl::Milliseconds(100);
    absl::Duration max_backoff = absl::Seconds(5);
    int page_size = 1000;
    // How long after losing the registry the copy still counts as current;
    // later, Snapshot() answers UNAVAILABLE until the watch is back.
    absl::Duration max_staleness = absl::Seconds(30);
    // For messages: the registry's address as the user gave it.
    std::string address;
  };

  RegistryMirror(std::shared_ptr<grpc::Channel> channel, Options options);
  ~RegistryMirror() override;
  RegistryMirror(const RegistryMirror&) = delete;
  RegistryMirror& operator=(const RegistryMirror&) = delete;

  // Starts the background thread.
  void Start();
  // Stops it; idempotent.
  void Stop();

  absl::StatusOr<std::shared_ptr<const RegistrySnapshot>> Snapshot(
      absl::Time deadline) const override;
  // The latest copy, or null before the first sync.
  std::shared_ptr<const RegistrySnapshot> current() const;

  // Called on the mirror's thread after each new copy is published.
  void OnUpdate(
      std::function<void(std::shared_ptr<const RegistrySnapshot>)> callback);

  // How many full lists it has made (1 after the first sync; more after
  // OUT_OF_RANGE or a registry restart that lost history).
  int lists() const;

 private:
  // Lists everything; the copy it returns is at the list's revision.
  absl::StatusOr<std::shared_ptr<RegistrySnapshot>> ListAll();
  // Watches from `snapshot->revision`, publishing each batch, until the
  // stream ends; returns its status and whether it applied any change.
  grpc::Status WatchFrom(std::shared_ptr<RegistrySnapshot> snapshot,
                         bool* progressed);
  void Publish(std::shared_ptr<const RegistrySnapshot> snapshot);

  std::unique_ptr<v1::CountryRegistryService::Stub> stub_;
  Options options_;
  // Halved while list pages are too large for this client to receive; only
  // the mirror's thread uses it.
  int page_size_;
  // The copy the next watch starts from; only the mirror's thread uses it.
  std::shared_ptr<RegistrySnapshot> working_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const RegistrySnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  std::function<void(std::shared_ptr<const RegistrySnapshot>)> callback_
      ABSL_GUARDED_BY(mu_);
  // Set by Stop(): Snapshot() waits no longer.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int lists_ ABSL_GUARDED_BY(mu_) = 0;
  // Whether a watch stream is established, and since when it is not.
  bool watching_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time lost_since_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  ListWatchLoop loop_;
};

}  // namespace thb::registry

#endif  // THB_SERVICES_REGISTRY_CLIENT_REGISTRY_MIRROR_H_
