#include "services/registry/client/registry_mirror.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "common/follow_progress.h"
#include "common/logging.h"
#include "common/watch_reactor.h"

namespace thb::registry {

RegistryMirror::RegistryMirror(std::shared_ptr<grpc::Channel> channel,
                               Options options)
    : stub_(v1::CountryRegistryService::NewStub(std::move(channel))),
      options_(std::move(options)),
      page_size_(std::max(1, options_.page_size)) {}

RegistryMirror::~RegistryMirror() { Stop(); }

void RegistryMirror::Start() {
  ListWatchLoop::Steps steps;
  steps.initial_backoff = options_.initial_backoff;
  steps.max_backoff = options_.max_backoff;
  steps.reset = ListWatchLoop::BackoffReset::kUnlessUnavailable;
  steps.list = [this]() -> absl::Status {
    auto listed = ListAll();
    if (!listed.ok()) return listed.status();
    working_ = std::move(*listed);
    {
      absl::MutexLock lock(&mu_);
      ++lists_;
    }
    Publish(working_);
    return absl::OkStatus();
  };
  steps.list_failed = [this](const absl::Status& status,
                             absl::Duration backoff) {
    THB_LOG(Warning) << "registry at " << options_.address
                     << " unreachable, retrying in "
                     << absl::FormatDuration(backoff) << ": "
                     << status.message();
  };
  steps.watch = [this](bool* progressed) {
    const grpc::Status status = WatchFrom(working_, progressed);
    // Resume from what was applied, whatever ended the stream.
    if (auto latest = current(); latest != nullptr) {
      working_ = std::make_shared<RegistrySnapshot>(*latest);
    }
    return status;
  };
  steps.cannot_resume = [this](const std::string& why) {
    THB_LOG(Warning) << "cannot resume watching the registry at "
                     << options_.address << " from revision "
                     << working_->revision << ": " << why << "; listing again";
  };
  loop_.Start(std::move(steps));
}

void RegistryMirror::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  loop_.Stop();
}

std::shared_ptr<const RegistrySnapshot> RegistryMirror::current() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

int RegistryMirror::lists() const {
  absl::MutexLock lock(&mu_);
  return lists_;
}

absl::StatusOr<std::shared_ptr<const RegistrySnapshot>>
RegistryMirror::Snapshot(absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto fresh = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return snapshot_ != nullptr &&
           (watching_ || absl::Now() - lost_since_ < options_.max_staleness);
  };
  auto ready = [this, &fresh]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return fresh() || stopping_;
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  if (snapshot_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "the registry at ", options_.address,
        " has not been reached yet, so codes cannot be validated; retry "
        "when it is up"));
  }
  if (!fresh()) {
    return absl::UnavailableError(absl::StrCat(
        "the registry at ", options_.address, " has been unreachable for ",
        absl::FormatDuration(
            absl::Trunc(absl::Now() - lost_since_, absl::Milliseconds(1))),
        ", so codes cannot be validated; retry when it is up"));
  }
  return snapshot_;
}

void RegistryMirror::OnUpdate(
    std::function<void(std::shared_ptr<const RegistrySnapshot>)> callback) {
  absl::MutexLock lock(&mu_);
  callback_ = std::move(callback);
}

void RegistryMirror::Publish(std::shared_ptr<const RegistrySnapshot> snapshot) {
  std::function<void(std::shared_ptr<const RegistrySnapshot>)> callback;
  {
    absl::MutexLock lock(&mu_);
    snapshot_ = snapshot;
    callback = callback_;
  }
  if (callback) callback(std::move(snapshot));
}

absl::StatusOr<std::shared_ptr<RegistrySnapshot>> RegistryMirror::ListAll() {
  auto snapshot = std::make_shared<RegistrySnapshot>();
  // The revision of the first page: everything after it is replayed by the
  // watch, and replaying a change the pages already showed is harmless.
  int64_t revision = -1;
  int64_t last_page_revision = -1;
  std::string incarnation;
  auto call = [&](auto method, auto& request, auto& response) -> grpc::Status {
    grpc::ClientContext context;
    context.set_deadline(
        absl::ToChronoTime(absl::Now() + options_.call_timeout));
    if (!loop_.Begin(&context)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "stopping");
    }
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    loop_.End();
    return status;
  };
  // Every page of one List method, each handed to `take`.
  auto list = [&](auto method, auto request, auto empty_response,
                  auto take) -> absl::Status {
    while (true) {
      request.set_page_size(page_size_);
      decltype(empty_response) response;
      auto status = call(method, request, response);
      if (FollowProgress::TooLarge(status) && page_size_ > 1) {
        // The same page would fail forever; a smaller one may pass.
        page_size_ = std::max(1, page_size_ / 2);
        THB_LOG(Warning) << "a page from the registry at " << options_.address
                         << " is larger than this client may receive ("
                         << status.error_message() << "); asking for pages of "
                         << page_size_;
        continue;
      }
      if (!status.ok()) return absl::UnavailableError(status.error_message());
      if (revision < 0) {
        revision = response.revision();
        incarnation = response.incarnation();
      } else if (response.incarnation() != incarnation ||
                 response.revision() < last_page_revision) {
        return absl::AbortedError(
            "the registry store was replaced or restored while it was being "
            "listed");
      }
      last_page_revision = response.revision();
      std::string next = response.next_page_token();
      take(std::move(response));
      if (next.empty()) return absl::OkStatus();
      request.set_page_token(std::move(next));
    }
  };

  if (auto status =
          list(&v1::CountryRegistryService::Stub::ListCountries,
               v1::ListCountriesRequest(), v1::ListCountriesResponse(),
               [&](v1::ListCountriesResponse response) {
                 for (auto& country : *response.mutable_countries()) {
                   if (country.iso_alpha2() != country.code()) {
                     snapshot->aliases[country.iso_alpha2()] = country.code();
                   }
                   std::string code = country.code();
                   snapshot->countries[code] = std::move(country);
                 }
               });
      !status.ok()) {
    return status;
  }
  if (auto status = list(&v1::CountryRegistryService::Stub::ListRegions,
                         v1::ListRegionsRequest(), v1::ListRegionsResponse(),
                         [&](v1::ListRegionsResponse response) {
                           for (auto& region : *response.mutable_regions()) {
                             std::string id = region.id();
                             snapshot->regions[id] = std::move(region);
                           }
                         });
      !status.ok()) {
    return status;
  }
  if (auto status =
          list(&v1::CountryRegistryService::Stub::ListOrganisations,
               v1::ListOrganisationsRequest(), v1::ListOrganisationsResponse(),
               [&](v1::ListOrganisationsResponse response) {
                 for (auto& organisation : *response.mutable_organisations()) {
                   std::string id = organisation.id();
                   snapshot->organisations[id] = std::move(organisation);
                 }
               });
      !status.ok()) {
    return status;
  }

  snapshot->revision = revision;
  snapshot->incarnation = incarnation;
  return snapshot;
}

grpc::Status RegistryMirror::WatchFrom(
    std::shared_ptr<RegistrySnapshot> snapshot, bool* progressed) {
  *progressed = false;
  grpc::ClientContext context;
  if (!loop_.Begin(&context)) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "stopping");
  }
  v1::WatchRequest request;
  request.set_from_revision(snapshot->revision);
  request.set_incarnation(snapshot->incarnation);
  auto reader = stub_->Watch(&context, request);
  // The registry sends its metadata as soon as it accepts the stream; a call
  // that failed to connect has none.
  reader->WaitForInitialMetadata();
  if (context.GetServerInitialMetadata().count(
          WatchReactor<v1::WatchResponse>::kRevisionHeader) > 0) {
    absl::MutexLock lock(&mu_);
    watching_ = true;
  }
  v1::WatchResponse response;
  grpc::Status reset;
  while (reader->Read(&response)) {
    // A registry that does not check the request itself still tells its
    // incarnation and revision in every message.
    if ((!response.incarnation().empty() &&
         response.incarnation() != snapshot->incarnation) ||
        response.revision() < snapshot->revision) {
      reset = grpc::Status(
          grpc::StatusCode::OUT_OF_RANGE,
          absl::StrCat("the registry is at revision ", response.revision(),
                       " of incarnation \"", response.incarnation(),
                       "\", the copy at ", snapshot->revision, " of \"",
                       snapshot->incarnation, "\": it was reset"));
      context.TryCancel();
      break;
    }
    if (response.changes().empty()) continue;
    // Copy on write: readers keep the snapshot they hold.
    auto next = std::make_shared<RegistrySnapshot>(*snapshot);
    for (const auto& change : response.changes()) next->Apply(change);
    snapshot = next;
    *progressed = true;
    Publish(next);
  }
  grpc::Status status = reader->Finish();
  loop_.End();
  absl::MutexLock lock(&mu_);
  if (watching_) {
    watching_ = false;
    lost_since_ = absl::Now();
  }
  return reset.ok() ? status : reset;
}

}  // namespace thb::registry
