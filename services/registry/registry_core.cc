#include "services/registry/registry_core.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/logging.h"
#include "google/protobuf/util/time_util.h"
#include "services/registry/resource_traits.h"

namespace thb::registry {
namespace {

using v1::Country;
using v1::Organisation;
using v1::Region;

constexpr char kSeedVersionKey[] = "reference_data_version";

}  // namespace

RegistryCore::RegistryCore(std::unique_ptr<RegistryStore> store,
                           CoreOptions options)
    : store_(std::move(store)), options_(options) {}

absl::StatusOr<std::unique_ptr<RegistryCore>> RegistryCore::Open(
    std::unique_ptr<RegistryStore> store, const ReferenceData& reference,
    CoreOptions options) {
  if (options.history_revisions < 1 ||
      options.history_revisions > kMaxHistoryRevisions) {
    return InvalidArgument(
        "history_revisions",
        absl::StrCat(options.history_revisions, " is not between 1 and ",
                     kMaxHistoryRevisions));
  }
  // Events that expired while the server was down go before it serves.
  if (auto status =
          audit::PruneExpired(options.clock(), options.audit_retention,
                              [&store](int64_t before_micros, int limit) {
                                return store->PruneAudit(before_micros, limit);
                              });
      !status.ok()) {
    return status;
  }
  auto state = store->Load();
  if (!state.ok()) return state.status();
  std::unique_ptr<RegistryCore> core(
      new RegistryCore(std::move(store), options));
  {
    absl::MutexLock lock(&core->mu_);
    core->incarnation_ = state->incarnation;
    core->revision_ = state->revision;
    core->compacted_revision_ = state->compacted_revision;
    // A damaged row stays where it is: every read of it answers INTERNAL
    // naming it, and no write replaces it, while the rest keeps serving.
    for (auto& resource : state->resources) {
      if (!IsKnownKind(resource.kind)) {
        return DamagedRow("resources", resource.kind, resource.id,
                          resource.revision);
      }
      absl::Status parsed;
      switch (resource.kind) {
        case ResourceKind::kCountry: {
          auto country =
              Parse<Country>(resource.id, resource.revision, resource.data);
          parsed = country.status();
          if (country.ok() && country->iso_alpha2() != country->code()) {
            core->aliases_[country->iso_alpha2()] = country->code();
          }
          break;
        }
        case ResourceKind::kRegion:
          parsed = Parse<Region>(resource.id, resource.revision, resource.data)
                       .status();
          break;
        case ResourceKind::kOrganisation:
          parsed =
              Parse<Organisation>(resource.id, resource.revision, resource.data)
                  .status();
          break;
      }
      if (!parsed.ok()) THB_LOG(Error) << parsed.message();
      core->TableFor(resource.kind)[resource.id] =
          Entry{resource.revision, std::move(resource.data)};
    }
    for (const auto& stored : state->changes) {
      v1::Change change;
      change.set_revision(stored.revision);
      change.set_type(static_cast<v1::ChangeType>(stored.type));
      *change.mutable_commit_time() =
          google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
              stored.commit_time_micros);
      const bool parsed =
          IsKnownKind(stored.kind) && VisitKind(stored.kind, [&](auto traits) {
            return traits.In(change)->ParseFromString(stored.data);
          });
      if (!parsed) {
        change.clear_resource();
        absl::Status damaged =
            DamagedRow("changes", stored.kind, stored.id, stored.revision);
        THB_LOG(Error) << damaged.message();
        core->damaged_changes_.emplace(stored.revision, std::move(damaged));
      }
      core->history_.push_back(std::move(change));
    }
  }
  core->notifier_.Publish(state->revision);
  if (!state->meta.count(kSeedVersionKey)) {
    absl::MutexLock write(&core->write_mu_);
    if (auto status = core->Seed(reference); !status.ok()) return status;
  }
  return core;
}

absl::Status RegistryCore::Seed(const ReferenceData& reference) {
  std::vector<StoredChange> changes;
  auto add = [&](ResourceKind kind, const std::string& id,
                 const google::protobuf::Message& message) {
    changes.push_back(StoredChange{0, ChangeKind::kCreated, kind, id, 0,
                                   message.SerializeAsString()});
  };
  for (const auto& country : reference.countries) {
    add(ResourceKind::kCountry, country.code(), country);
  }
  for (const auto& region : reference.regions) {
    add(ResourceKind::kRegion, region.id(), region);
  }
  for (const auto& organisation : reference.organisations) {
    add(ResourceKind::kOrganisation, organisation.id(), organisation);
  }
  auto revision = CommitChanges(
      std::move(changes),
      {{kSeedVersionKey, absl::StrCat(kReferenceDataVersion)}}, nullptr);
  return revision.status();
}

RegistryCore::Table& RegistryCore::TableFor(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kRegion:
      return regions_;
    case ResourceKind::kOrganisation:
      return organisations_;
    case ResourceKind::kCountry:
      break;
  }
  return countries_;
}

const RegistryCore::Table& RegistryCore::TableFor(ResourceKind kind) const {
  return const_cast<RegistryCore*>(this)->TableFor(kind);
}

int64_t RegistryCore::revision() const {
  absl::ReaderMutexLock lock(&mu_);
  return revision_;
}

absl::StatusOr<int64_t> RegistryCore::CommitChanges(
    std::vector<StoredChange> changes, std::map<std::string, std::string> meta,
    const audit::Invocation* call) {
  const absl::Time now = options_.clock();
  const int64_t now_micros = absl::ToUnixMicros(now);
  const auto timestamp =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(now_micros);
  int64_t revision;
  int64_t compacted;
  {
    absl::ReaderMutexLock lock(&mu_);
    revision = revision_ + 1;
    compacted = compacted_revision_;
  }
  CommitBatch batch;
  batch.revision = revision;
  batch.meta = std::move(meta);
  if (revision - compacted > options_.history_revisions) {
    batch.compact_through = revision - options_.history_revisions;
  }
  batch.audit_expired_before_micros =
      absl::ToUnixMicros(now - options_.audit_retention);

  std::vector<v1::Change> log;
  absl::Status damaged;
  for (auto& change : changes) {
    change.revision = revision;
    change.commit_time_micros = now_micros;
    v1::Change entry;
    entry.set_revision(revision);
    entry.set_type(static_cast<v1::ChangeType>(change.type));
    *entry.mutable_commit_time() = timestamp;
    // Stamp the server-set fields into the stored form. A deletion keeps the
    // last state as it was.
    auto stamp = [&](auto* message) {
      if (!message->ParseFromString(change.data)) {
        damaged = DamagedRow("resources", change.kind, change.id, revision);
      }
      if (change.type != ChangeKind::kDeleted) {
        message->set_revision(revision);
        message->set_etag(Etag(change.kind, change.id, revision));
        *message->mutable_update_time() = timestamp;
        if (change.type == ChangeKind::kCreated) {
          *message->mutable_create_time() = timestamp;
        }
        if (call != nullptr) {
          message->set_last_changed_by(call->caller.principal);
        }
      }
      change.data = message->SerializeAsString();
    };
    VisitKind(change.kind, [&](auto traits) { stamp(traits.In(entry)); });
    log.push_back(std::move(entry));
    if (call != nullptr) {
      batch.audit.push_back(audit::EventOf(*call,
                                           ResourceName(change.kind, change.id),
                                           "", revision, now_micros));
    }
  }
  if (!damaged.ok()) return damaged;
  batch.changes = changes;
  if (auto status = store_->Commit(batch); !status.ok()) return status;

  {
    absl::MutexLock lock(&mu_);
    revision_ = revision;
    for (auto& change : changes) {
      Table& table = TableFor(change.kind);
      if (change.type == ChangeKind::kDeleted) {
        table.erase(change.id);
      } else {
        table[change.id] = Entry{revision, change.data};
      }
      if (change.kind == ResourceKind::kCountry) {
        // Aliases are rebuilt for the one country that changed (its data was
        // parsed when it was stamped above).
        Country country;
        country.ParseFromString(change.data);
        for (auto it = aliases_.begin(); it != aliases_.end();) {
          if (it->second == change.id) {
            aliases_.erase(it++);
          } else {
            ++it;
          }
        }
        if (change.type != ChangeKind::kDeleted &&
            country.iso_alpha2() != country.code()) {
          aliases_[country.iso_alpha2()] = country.code();
        }
      }
    }
    for (auto& entry : log) history_.push_back(std::move(entry));
    if (batch.compact_through > 0) {
      compacted_revision_ = batch.compact_through;
      while (!history_.empty() &&
             history_.front().revision() <= compacted_revision_) {
        history_.pop_front();
      }
      damaged_changes_.erase(damaged_changes_.begin(),
                             damaged_changes_.upper_bound(compacted_revision_));
    }
  }
  notifier_.Publish(revision);
  return revision;
}

absl::StatusOr<v1::WatchResponse> RegistryCore::ChangesAfter(
    int64_t from_revision, const std::string& incarnation) const {
  if (from_revision < 0) {
    return InvalidArgument("from_revision",
                           absl::StrCat(from_revision, " is negative"));
  }
  if (!incarnation.empty() && incarnation != incarnation_) {
    return IncarnationChanged(incarnation, incarnation_);
  }
  absl::ReaderMutexLock lock(&mu_);
  if (from_revision < compacted_revision_) {
    return RevisionCompacted(from_revision, compacted_revision_ + 1);
  }
  if (from_revision > revision_) return RevisionAhead(from_revision, revision_);
  v1::WatchResponse response;
  response.set_revision(revision_);
  response.set_incarnation(incarnation_);
  auto it = std::upper_bound(history_.begin(), history_.end(), from_revision,
                             [](int64_t revision, const v1::Change& change) {
                               return revision < change.revision();
                             });
  RevisionBatchBudget budget(options_.max_batch_bytes);
  for (; it != history_.end(); ++it) {
    if (response.changes_size() >= options_.max_changes_per_batch &&
        it->revision() !=
            response.changes(response.changes_size() - 1).revision()) {
      break;
    }
    if (auto damaged = damaged_changes_.find(it->revision());
        damaged != damaged_changes_.end()) {
      return damaged->second;
    }
    if (!budget.Offer(it->revision(), it->ByteSizeLong())) break;
    *response.add_changes() = *it;
  }
  const int kept = static_cast<int>(budget.kept());
  if (kept < response.changes_size()) {
    response.mutable_changes()->DeleteSubrange(kept,
                                               response.changes_size() - kept);
  }
  return response;
}

absl::StatusOr<v1::ListAuditEventsResponse> RegistryCore::ListAuditEvents(
    const v1::ListAuditEventsRequest& request) const {
  return audit::ListPage(
      request, options_.clock(), options_.audit_retention,
      [this](const audit::Query& query) { return store_->ReadAudit(query); });
}

}  // namespace thb::registry
