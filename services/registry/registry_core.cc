#include "services/registry/registry_core.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/dates.h"
#include "common/errors.h"
#include "common/fingerprint.h"
#include "common/logging.h"
#include "common/page_token.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/time_util.h"

namespace thb::registry {
namespace {

using google::protobuf::FieldMask;
using google::protobuf::util::FieldMaskUtil;
using v1::Country;
using v1::Organisation;
using v1::Region;

constexpr char kSeedVersionKey[] = "reference_data_version";
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr int kMaxBatchGet = 1000;

// The fields of each resource an update may replace.
template <typename T>
std::set<std::string> WritableFields();

template <>
std::set<std::string> WritableFields<Country>() {
  return {"name",        "official_name", "iso_alpha2", "iso_alpha3",
          "iso_numeric", "eu_member",     "emn_history"};
}

template <>
std::set<std::string> WritableFields<Region>() {
  return {"name", "description", "country_codes", "definition_source"};
}

template <>
std::set<std::string> WritableFields<Organisation>() {
  return {"name", "kind", "url"};
}

std::string Etag(ResourceKind kind, const std::string& id, int64_t revision) {
  return FingerprintHex(Fingerprint64(
      absl::StrCat(static_cast<int>(kind), "/", id, "@", revision)));
}

// The audit log's name of a resource: "countries/EL", "regions/SAHEL".
std::string ResourceName(ResourceKind kind, const std::string& id) {
  switch (kind) {
    case ResourceKind::kRegion:
      return absl::StrCat("regions/", id);
    case ResourceKind::kOrganisation:
      return absl::StrCat("organisations/", id);
    case ResourceKind::kCountry:
      break;
  }
  return absl::StrCat("countries/", id);
}

bool IsCountryCode(const std::string& code) {
  return code.size() == 2 && absl::ascii_isupper(code[0]) &&
         absl::ascii_isupper(code[1]);
}

// Upper-case identifiers of regions and organisations: "SAHEL", "IOM".
bool IsResourceId(const std::string& id) {
  if (id.empty() || id.size() > 63 || !absl::ascii_isupper(id[0])) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isupper(c) || absl::ascii_isdigit(c) || c == '_';
  });
}

absl::Status CheckId(const std::string& id, const std::string& field) {
  if (id.empty()) return InvalidArgument(field, "is required");
  if (!IsResourceId(id)) {
    return InvalidArgument(
        field, absl::StrCat("\"", id,
                            "\" is not an identifier of upper-case letters, "
                            "digits and underscores starting with a letter"));
  }
  return absl::OkStatus();
}

absl::Status CheckText(const std::string& text, const std::string& field,
                       size_t max, bool required) {
  if (required && text.empty()) return InvalidArgument(field, "is required");
  if (text.size() > max) {
    return InvalidArgument(
        field,
        absl::StrCat("is ", text.size(), " bytes long; the limit is ", max));
  }
  return absl::OkStatus();
}

// The mask to apply: the request's, every path checked against the writable
// fields, or all writable fields when empty.
absl::StatusOr<FieldMask> EffectiveMask(const FieldMask& requested,
                                        const std::set<std::string>& writable,
                                        const char* resource) {
  FieldMask mask;
  if (requested.paths().empty()) {
    for (const auto& path : writable) mask.add_paths(path);
    return mask;
  }
  for (int i = 0; i < requested.paths_size(); ++i) {
    const std::string& path = requested.paths(i);
    if (!writable.count(path)) {
      return InvalidArgument(
          absl::StrCat("update_mask.paths[", i, "]"),
          absl::StrCat("\"", path, "\" is not a writable field of ", resource,
                       "; writable: ", absl::StrJoin(writable, ", ")));
    }
    mask.add_paths(path);
  }
  return mask;
}

// What a list request filters on, without the paging fields.
template <typename Request>
uint64_t FilterHash(Request request) {
  request.clear_page_size();
  request.clear_page_token();
  return MessageFingerprint(request);
}

absl::StatusOr<std::string> NormalizeCountryCode(std::string code,
                                                 const std::string& field) {
  if (code.empty()) return InvalidArgument(field, "is required");
  absl::AsciiStrToUpper(&code);
  if (!IsCountryCode(code)) {
    return InvalidArgument(
        field, absl::StrCat("\"", code,
                            "\" is not a two-letter country code (ISO 3166-1 "
                            "alpha-2, EL and UK)"));
  }
  return code;
}

absl::Status ValidateSource(const v1::Source& source,
                            const std::string& field) {
  if (auto s = CheckText(source.citation(), field + ".citation",
                         kMaxCitationLength, false);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckText(source.url(), field + ".url", kMaxUrlLength, false);
      !s.ok()) {
    return s;
  }
  if (source.footnote() < 0 || source.footnote() > kMaxFootnote) {
    return InvalidArgument(
        field + ".footnote",
        absl::StrCat(source.footnote(), " is not a footnote number (0 to ",
                     kMaxFootnote, ")"));
  }
  if (!source.accessed_date().empty()) {
    if (auto parsed =
            ParseDate(source.accessed_date(), field + ".accessed_date");
        !parsed.ok()) {
      return parsed.status();
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateHistory(Country& country) {
  auto& history = *country.mutable_emn_history();
  if (static_cast<size_t>(history.size()) > kMaxEmnHistoryPeriods) {
    return InvalidArgument(
        "country.emn_history",
        absl::StrCat(history.size(), " periods; the limit is ",
                     kMaxEmnHistoryPeriods));
  }
  for (int i = 0; i < history.size(); ++i) {
    const std::string field = absl::StrCat("country.emn_history[", i, "]");
    const auto& period = history[i];
    if (period.status() != v1::EMN_STATUS_MEMBER &&
        period.status() != v1::EMN_STATUS_OBSERVER) {
      return InvalidArgument(
          field + ".status",
          absl::StrCat(v1::EmnStatus_Name(period.status()),
                       " is not a status a period can record (MEMBER or "
                       "OBSERVER; no period means NONE)"));
    }
    for (const auto& [date, name] :
         {std::pair{period.start_date(), "start_date"},
          std::pair{period.end_date(), "end_date"}}) {
      if (date.empty()) continue;
      if (auto parsed = ParseDate(date, field + "." + name); !parsed.ok()) {
        return parsed.status();
      }
    }
    if (period.has_source()) {
      if (auto s = ValidateSource(period.source(), field + ".source");
          !s.ok()) {
        return s;
      }
    }
    if (!period.start_date().empty() && !period.end_date().empty() &&
        period.end_date() < period.start_date()) {
      return InvalidArgument(
          field + ".end_date",
          absl::StrCat("\"", period.end_date(), "\" is before start_date \"",
                       period.start_date(), "\""));
    }
  }
  std::sort(history.begin(), history.end(), [](const auto& a, const auto& b) {
    return a.start_date() < b.start_date();
  });
  for (int i = 1; i < history.size(); ++i) {
    const auto& previous = history[i - 1];
    if (previous.end_date().empty() ||
        previous.end_date() >= history[i].start_date()) {
      return InvalidArgument(
          "country.emn_history",
          absl::StrCat("the period starting ", history[i].start_date(),
                       " overlaps the one starting ", previous.start_date()));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCountry(Country& country) {
  if (auto s = CheckText(country.name(), "country.name", kMaxNameLength, true);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckText(country.official_name(), "country.official_name",
                         kMaxNameLength, false);
      !s.ok()) {
    return s;
  }
  if (country.iso_alpha2().empty()) country.set_iso_alpha2(country.code());
  auto alpha2 =
      NormalizeCountryCode(country.iso_alpha2(), "country.iso_alpha2");
  if (!alpha2.ok()) return alpha2.status();
  country.set_iso_alpha2(*alpha2);
  const std::string& alpha3 = country.iso_alpha3();
  if (!alpha3.empty() &&
      (alpha3.size() != 3 ||
       !std::all_of(alpha3.begin(), alpha3.end(), absl::ascii_isupper))) {
    return InvalidArgument(
        "country.iso_alpha3",
        absl::StrCat("\"", alpha3, "\" is not three upper-case letters"));
  }
  const std::string& numeric = country.iso_numeric();
  if (!numeric.empty() &&
      (numeric.size() != 3 ||
       !std::all_of(numeric.begin(), numeric.end(), absl::ascii_isdigit))) {
    return InvalidArgument(
        "country.iso_numeric",
        absl::StrCat("\"", numeric, "\" is not three digits"));
  }
  return ValidateHistory(country);
}

absl::Status ValidateOrganisation(const Organisation& organisation) {
  if (auto s = CheckText(organisation.name(), "organisation.name",
                         kMaxNameLength, true);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckText(organisation.url(), "organisation.url", kMaxUrlLength,
                         false);
      !s.ok()) {
    return s;
  }
  if (organisation.kind() == v1::ORGANISATION_KIND_UNSPECIFIED ||
      !v1::OrganisationKind_IsValid(organisation.kind())) {
    return InvalidArgument(
        "organisation.kind",
        absl::StrCat(organisation.kind(), " is not an organisation kind"));
  }
  return absl::OkStatus();
}

// What a region holds apart from its countries, which need the registry.
absl::Status ValidateRegion(const Region& region) {
  if (auto s = CheckText(region.name(), "region.name", kMaxNameLength, true);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckText(region.description(), "region.description",
                         kMaxDescriptionLength, false);
      !s.ok()) {
    return s;
  }
  if (static_cast<size_t>(region.country_codes_size()) > kMaxRegionCountries) {
    return InvalidArgument(
        "region.country_codes",
        absl::StrCat(region.country_codes_size(), " codes; the limit is ",
                     kMaxRegionCountries));
  }
  if (region.has_definition_source()) {
    return ValidateSource(region.definition_source(),
                          "region.definition_source");
  }
  return absl::OkStatus();
}

void ClearOutputOnly(Country& country) {
  country.clear_emn_status();
  country.clear_region_ids();
  country.clear_revision();
  country.clear_create_time();
  country.clear_update_time();
  country.clear_last_changed_by();
}

template <typename T>
void ClearOutputOnly(T& resource) {
  resource.clear_revision();
  resource.clear_create_time();
  resource.clear_update_time();
  resource.clear_last_changed_by();
}

// Readies a validated resource for storing: nothing a client sent that
// this build does not know is kept, and what is kept fits
// kMaxResourceBytes (measured without the fields the server stamps).
template <typename T>
absl::Status Admit(T& resource, const char* field) {
  resource.DiscardUnknownFields();
  T bare = resource;
  ClearOutputOnly(bare);
  bare.clear_etag();
  const size_t size = bare.ByteSizeLong();
  if (size > kMaxResourceBytes) {
    return InvalidArgument(
        field, absl::StrCat("is ", size, " bytes serialized; the limit is ",
                            kMaxResourceBytes));
  }
  return absl::OkStatus();
}

absl::Status CheckRoom(size_t held, const char* kind) {
  if (held < kMaxResourcesPerKind) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "the registry holds ", held, " ", kind,
      ", the most it keeps (kMaxResourcesPerKind = ", kMaxResourcesPerKind,
      ")"));
}

const char* TypeName(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kRegion:
      return "region";
    case ResourceKind::kOrganisation:
      return "organisation";
    case ResourceKind::kCountry:
      break;
  }
  return "country";
}

// A stored row that does not parse: the database is damaged. Named so that
// an operator can find the row; never answered as a partial resource.
absl::Status DamagedRow(const char* table, ResourceKind kind,
                        const std::string& id, int64_t revision) {
  return WithReason(
      absl::InternalError(absl::StrCat(
          "the registry's stored row of table \"", table, "\" for ",
          TypeName(kind), " \"", id, "\" (revision ", revision,
          ") does not parse; the database is damaged: restore it from a "
          "backup")),
      "STORED_ROW_DAMAGED",
      {{"table", table},
       {"resource_type", TypeName(kind)},
       {"resource_name", id},
       {"revision", absl::StrCat(revision)}});
}

bool IsKnownKind(ResourceKind kind) {
  return kind == ResourceKind::kCountry || kind == ResourceKind::kRegion ||
         kind == ResourceKind::kOrganisation;
}

// A resource of the `resources` table as it is kept in memory; INTERNAL
// naming it when it does not parse.
template <typename T>
absl::StatusOr<T> Parse(ResourceKind kind, const std::string& id,
                        int64_t revision, const std::string& data) {
  T message;
  if (!message.ParseFromString(data)) {
    return DamagedRow("resources", kind, id, revision);
  }
  return message;
}

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
          auto country = Parse<Country>(resource.kind, resource.id,
                                        resource.revision, resource.data);
          parsed = country.status();
          if (country.ok() && country->iso_alpha2() != country->code()) {
            core->aliases_[country->iso_alpha2()] = country->code();
          }
          break;
        }
        case ResourceKind::kRegion:
          parsed = Parse<Region>(resource.kind, resource.id, resource.revision,
                                 resource.data)
                       .status();
          break;
        case ResourceKind::kOrganisation:
          parsed = Parse<Organisation>(resource.kind, resource.id,
                                       resource.revision, resource.data)
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
      bool parsed = false;
      switch (stored.kind) {
        case ResourceKind::kCountry:
          parsed = change.mutable_country()->ParseFromString(stored.data);
          break;
        case ResourceKind::kRegion:
          parsed = change.mutable_region()->ParseFromString(stored.data);
          break;
        case ResourceKind::kOrganisation:
          parsed = change.mutable_organisation()->ParseFromString(stored.data);
          break;
      }
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
    switch (change.kind) {
      case ResourceKind::kCountry:
        stamp(entry.mutable_country());
        break;
      case ResourceKind::kRegion:
        stamp(entry.mutable_region());
        break;
      case ResourceKind::kOrganisation:
        stamp(entry.mutable_organisation());
        break;
    }
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

absl::StatusOr<std::string> RegistryCore::ResolveCountryCode(
    const std::string& code, const std::string& field) const {
  auto normalized = NormalizeCountryCode(code, field);
  if (!normalized.ok()) return normalized.status();
  // An exact code wins: a store written before aliases were checked for
  // conflicts may still map another country's code to a newcomer.
  if (countries_.count(*normalized)) return *normalized;
  if (auto alias = aliases_.find(*normalized); alias != aliases_.end()) {
    return alias->second;
  }
  return *normalized;
}

absl::Status RegistryCore::CheckNoOtherCountryAnswersTo(
    const std::string& value, const std::string& field,
    const std::string& self) const {
  std::string holder;
  const char* as = nullptr;
  if (value != self && countries_.count(value)) {
    holder = value;
    as = "the code";
  } else if (auto alias = aliases_.find(value);
             alias != aliases_.end() && alias->second != self) {
    holder = alias->second;
    as = "an alias";
  }
  if (as == nullptr) return absl::OkStatus();
  return WithReason(
      absl::AlreadyExistsError(absl::StrCat(
          field, ": \"", value, "\" is already ", as, " of country \"", holder,
          "\"; codes and aliases are unique across all countries")),
      "COUNTRY_CODE_TAKEN",
      {{"field", field}, {"value", value}, {"country", holder}});
}

absl::StatusOr<v1::Country> RegistryCore::Decorate(const std::string& code,
                                                   const Entry& entry,
                                                   absl::CivilDay day) const {
  auto country =
      Parse<Country>(ResourceKind::kCountry, code, entry.revision, entry.data);
  if (!country.ok()) return country.status();
  country->set_emn_status(StatusOn(*country, day));
  for (const auto& [id, region_entry] : regions_) {
    auto region = Parse<Region>(ResourceKind::kRegion, id,
                                region_entry.revision, region_entry.data);
    if (!region.ok()) return region.status();
    if (std::binary_search(region->country_codes().begin(),
                           region->country_codes().end(), country->code())) {
      country->add_region_ids(id);
    }
  }
  return country;
}

absl::Status RegistryCore::ValidateRegionCountries(Region& region) const {
  std::set<std::string> codes;
  for (int i = 0; i < region.country_codes_size(); ++i) {
    const std::string field = absl::StrCat("region.country_codes[", i, "]");
    auto code = ResolveCountryCode(region.country_codes(i), field);
    if (!code.ok()) return code.status();
    if (!countries_.count(*code)) {
      return InvalidArgument(
          field, absl::StrCat("\"", region.country_codes(i),
                              "\" is not a country of the registry"));
    }
    codes.insert(*code);
  }
  region.clear_country_codes();
  for (const auto& code : codes) region.add_country_codes(code);
  return absl::OkStatus();
}

// --- Countries ---

absl::StatusOr<v1::GetCountryResponse> RegistryCore::GetCountry(
    const v1::GetCountryRequest& request) const {
  auto day = ParseDateOrToday(request.as_of_date(), "as_of_date");
  if (!day.ok()) return day.status();
  absl::ReaderMutexLock lock(&mu_);
  auto code = ResolveCountryCode(request.code(), "code");
  if (!code.ok()) return code.status();
  auto it = countries_.find(*code);
  if (it == countries_.end()) return NotFound("country", request.code());
  v1::GetCountryResponse response;
  auto country = Decorate(it->first, it->second, *day);
  if (!country.ok()) return country.status();
  *response.mutable_country() = std::move(*country);
  return response;
}

absl::StatusOr<v1::BatchGetCountriesResponse> RegistryCore::BatchGetCountries(
    const v1::BatchGetCountriesRequest& request) const {
  if (request.codes_size() > kMaxBatchGet) {
    return InvalidArgument(
        "codes", absl::StrCat(request.codes_size(), " codes; the limit is ",
                              kMaxBatchGet));
  }
  auto day = ParseDateOrToday(request.as_of_date(), "as_of_date");
  if (!day.ok()) return day.status();
  absl::ReaderMutexLock lock(&mu_);
  v1::BatchGetCountriesResponse response;
  for (int i = 0; i < request.codes_size(); ++i) {
    auto code =
        ResolveCountryCode(request.codes(i), absl::StrCat("codes[", i, "]"));
    if (!code.ok()) return code.status();
    auto it = countries_.find(*code);
    if (it == countries_.end()) return NotFound("country", request.codes(i));
    auto country = Decorate(it->first, it->second, *day);
    if (!country.ok()) return country.status();
    *response.add_countries() = std::move(*country);
  }
  return response;
}

absl::StatusOr<v1::ListCountriesResponse> RegistryCore::ListCountries(
    const v1::ListCountriesRequest& request) const {
  auto page_size =
      EffectivePageSize(request.page_size(), kDefaultPageSize, kMaxPageSize);
  if (!page_size.ok()) return page_size.status();
  auto after = DecodePageToken(request.page_token(), FilterHash(request));
  if (!after.ok()) return after.status();
  auto day = ParseDateOrToday(request.as_of_date(), "as_of_date");
  if (!day.ok()) return day.status();
  std::set<int> statuses;
  for (int i = 0; i < request.emn_statuses_size(); ++i) {
    const int status = request.emn_statuses(i);
    if (status == v1::EMN_STATUS_UNSPECIFIED ||
        !v1::EmnStatus_IsValid(status)) {
      return InvalidArgument(absl::StrCat("emn_statuses[", i, "]"),
                             absl::StrCat(status, " is not an EMN status"));
    }
    statuses.insert(status);
  }

  absl::ReaderMutexLock lock(&mu_);
  std::set<std::string> region_members;
  if (!request.region_id().empty()) {
    auto region = regions_.find(request.region_id());
    if (region == regions_.end()) {
      return InvalidArgument(
          "region_id",
          absl::StrCat("\"", request.region_id(), "\" is not a region"));
    }
    auto region_message =
        Parse<Region>(ResourceKind::kRegion, region->first,
                      region->second.revision, region->second.data);
    if (!region_message.ok()) return region_message.status();
    region_members.insert(region_message->country_codes().begin(),
                          region_message->country_codes().end());
  }

  v1::ListCountriesResponse response;
  response.set_revision(revision_);
  response.set_incarnation(incarnation_);
  PageBudget budget(options_.max_page_bytes);
  int total = 0;
  for (const auto& [code, entry] : countries_) {
    if (!request.region_id().empty() && !region_members.count(code)) continue;
    auto decorated = Decorate(code, entry, *day);
    if (!decorated.ok()) return decorated.status();
    Country country = std::move(*decorated);
    if (!statuses.empty() && !statuses.count(country.emn_status())) continue;
    if (request.has_eu_member() && country.eu_member() != request.eu_member()) {
      continue;
    }
    ++total;
    if (code <= *after && !after->empty()) continue;
    if (response.countries_size() < *page_size &&
        budget.Take(country.ByteSizeLong())) {
      *response.add_countries() = std::move(country);
    } else if (response.next_page_token().empty()) {
      response.set_next_page_token(EncodePageToken(
          response.countries(response.countries_size() - 1).code(),
          FilterHash(request)));
    }
  }
  response.set_total_size(total);
  return response;
}

absl::StatusOr<v1::CreateCountryResponse> RegistryCore::CreateCountry(
    const v1::CreateCountryRequest& request, const audit::Invocation& call) {
  Country country = request.country();
  auto code = NormalizeCountryCode(country.code(), "country.code");
  if (!code.ok()) return code.status();
  country.set_code(*code);
  ClearOutputOnly(country);
  country.clear_etag();
  if (auto status = ValidateCountry(country); !status.ok()) return status;
  if (auto status = Admit(country, "country"); !status.ok()) return status;

  absl::MutexLock write(&write_mu_);
  {
    absl::ReaderMutexLock lock(&mu_);
    if (countries_.count(*code)) return AlreadyExists("country", *code);
    if (auto s = CheckRoom(countries_.size(), "countries"); !s.ok()) return s;
    if (auto s = CheckNoOtherCountryAnswersTo(*code, "country.code", *code);
        !s.ok()) {
      return s;
    }
    if (auto s = CheckNoOtherCountryAnswersTo(country.iso_alpha2(),
                                              "country.iso_alpha2", *code);
        !s.ok()) {
      return s;
    }
  }
  auto revision = CommitChanges(
      {StoredChange{0, ChangeKind::kCreated, ResourceKind::kCountry, *code, 0,
                    country.SerializeAsString()}},
      {}, &call);
  if (!revision.ok()) return revision.status();
  absl::ReaderMutexLock lock(&mu_);
  v1::CreateCountryResponse response;
  auto stored = Decorate(*code, countries_.at(*code), TodayUtc());
  if (!stored.ok()) return stored.status();
  *response.mutable_country() = std::move(*stored);
  return response;
}

absl::StatusOr<v1::UpdateCountryResponse> RegistryCore::UpdateCountry(
    const v1::UpdateCountryRequest& request, const audit::Invocation& call) {
  auto mask = EffectiveMask(request.update_mask(), WritableFields<Country>(),
                            "country");
  if (!mask.ok()) return mask.status();
  absl::MutexLock write(&write_mu_);
  std::string code;
  Country country;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto resolved =
        ResolveCountryCode(request.country().code(), "country.code");
    if (!resolved.ok()) return resolved.status();
    code = *resolved;
    auto it = countries_.find(code);
    if (it == countries_.end())
      return NotFound("country", request.country().code());
    auto stored = Parse<Country>(ResourceKind::kCountry, code,
                                 it->second.revision, it->second.data);
    if (!stored.ok()) return stored.status();
    country = std::move(*stored);
    if (!request.country().etag().empty() &&
        request.country().etag() != country.etag()) {
      return EtagMismatch("country", code, request.country().etag(),
                          country.etag());
    }
  }
  FieldMaskUtil::MergeOptions options;
  options.set_replace_repeated_fields(true);
  options.set_replace_message_fields(true);
  FieldMaskUtil::MergeMessageTo(request.country(), *mask, options, &country);
  if (auto status = ValidateCountry(country); !status.ok()) return status;
  if (auto status = Admit(country, "country"); !status.ok()) return status;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto s = CheckNoOtherCountryAnswersTo(country.iso_alpha2(),
                                              "country.iso_alpha2", code);
        !s.ok()) {
      return s;
    }
  }
  auto revision = CommitChanges(
      {StoredChange{0, ChangeKind::kUpdated, ResourceKind::kCountry, code, 0,
                    country.SerializeAsString()}},
      {}, &call);
  if (!revision.ok()) return revision.status();
  absl::ReaderMutexLock lock(&mu_);
  v1::UpdateCountryResponse response;
  auto stored = Decorate(code, countries_.at(code), TodayUtc());
  if (!stored.ok()) return stored.status();
  *response.mutable_country() = std::move(*stored);
  return response;
}

template <typename T>
absl::StatusOr<int64_t> RegistryCore::DeleteById(
    ResourceKind kind, const char* type, const std::string& id,
    const std::string& etag, const audit::Invocation& call,
    const std::function<absl::Status()>& in_use) {
  std::string data;
  {
    absl::ReaderMutexLock lock(&mu_);
    const Table& table = TableFor(kind);
    auto it = table.find(id);
    if (it == table.end()) return NotFound(type, id);
    auto resource = Parse<T>(kind, id, it->second.revision, it->second.data);
    if (!resource.ok()) return resource.status();
    if (!etag.empty() && etag != resource->etag()) {
      return EtagMismatch(type, id, etag, resource->etag());
    }
    if (in_use) {
      if (auto status = in_use(); !status.ok()) return status;
    }
    data = it->second.data;
  }
  return CommitChanges(
      {StoredChange{0, ChangeKind::kDeleted, kind, id, 0, std::move(data)}}, {},
      &call);
}

absl::StatusOr<v1::DeleteCountryResponse> RegistryCore::DeleteCountry(
    const v1::DeleteCountryRequest& request, const audit::Invocation& call) {
  absl::MutexLock write(&write_mu_);
  std::string code;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto resolved = ResolveCountryCode(request.code(), "code");
    if (!resolved.ok()) return resolved.status();
    code = *resolved;
  }
  // Runs under the read lock DeleteById holds.
  auto member_of_a_region = [this, &code]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (const auto& [id, entry] : regions_) {
      auto region =
          Parse<Region>(ResourceKind::kRegion, id, entry.revision, entry.data);
      if (!region.ok()) return region.status();
      if (std::binary_search(region->country_codes().begin(),
                             region->country_codes().end(), code)) {
        return WithReason(absl::FailedPreconditionError(absl::StrCat(
                              "country \"", code, "\" is a member of region \"",
                              id, "\"; remove it from the region first")),
                          "COUNTRY_IN_USE", {{"region", id}});
      }
    }
    return absl::OkStatus();
  };
  auto revision = DeleteById<Country>(ResourceKind::kCountry, "country", code,
                                      request.etag(), call, member_of_a_region);
  if (!revision.ok()) return revision.status();
  v1::DeleteCountryResponse response;
  response.set_revision(*revision);
  return response;
}

// --- Regions and organisations: the same shape, sharing the code below ---

absl::StatusOr<v1::GetRegionResponse> RegistryCore::GetRegion(
    const v1::GetRegionRequest& request) const {
  if (auto status = CheckId(request.id(), "id"); !status.ok()) return status;
  absl::ReaderMutexLock lock(&mu_);
  auto it = regions_.find(request.id());
  if (it == regions_.end()) return NotFound("region", request.id());
  auto region = Parse<Region>(ResourceKind::kRegion, it->first,
                              it->second.revision, it->second.data);
  if (!region.ok()) return region.status();
  v1::GetRegionResponse response;
  *response.mutable_region() = std::move(*region);
  return response;
}

absl::StatusOr<v1::ListRegionsResponse> RegistryCore::ListRegions(
    const v1::ListRegionsRequest& request) const {
  auto page_size =
      EffectivePageSize(request.page_size(), kDefaultPageSize, kMaxPageSize);
  if (!page_size.ok()) return page_size.status();
  auto after = DecodePageToken(request.page_token(), FilterHash(request));
  if (!after.ok()) return after.status();
  absl::ReaderMutexLock lock(&mu_);
  std::string country;
  if (!request.country_code().empty()) {
    auto code = ResolveCountryCode(request.country_code(), "country_code");
    if (!code.ok()) return code.status();
    country = *code;
  }
  v1::ListRegionsResponse response;
  response.set_revision(revision_);
  response.set_incarnation(incarnation_);
  PageBudget budget(options_.max_page_bytes);
  int total = 0;
  for (const auto& [id, entry] : regions_) {
    auto parsed =
        Parse<Region>(ResourceKind::kRegion, id, entry.revision, entry.data);
    if (!parsed.ok()) return parsed.status();
    Region region = std::move(*parsed);
    if (!country.empty() &&
        !std::binary_search(region.country_codes().begin(),
                            region.country_codes().end(), country)) {
      continue;
    }
    ++total;
    if (!after->empty() && id <= *after) continue;
    if (response.regions_size() < *page_size &&
        budget.Take(region.ByteSizeLong())) {
      *response.add_regions() = std::move(region);
    } else if (response.next_page_token().empty()) {
      response.set_next_page_token(
          EncodePageToken(response.regions(response.regions_size() - 1).id(),
                          FilterHash(request)));
    }
  }
  response.set_total_size(total);
  return response;
}

absl::StatusOr<v1::CreateRegionResponse> RegistryCore::CreateRegion(
    const v1::CreateRegionRequest& request, const audit::Invocation& call) {
  Region region = request.region();
  if (auto s = CheckId(region.id(), "region.id"); !s.ok()) return s;
  if (auto s = ValidateRegion(region); !s.ok()) return s;
  ClearOutputOnly(region);
  region.clear_etag();
  absl::MutexLock write(&write_mu_);
  {
    absl::ReaderMutexLock lock(&mu_);
    if (regions_.count(region.id()))
      return AlreadyExists("region", region.id());
    if (auto s = CheckRoom(regions_.size(), "regions"); !s.ok()) return s;
    if (auto s = ValidateRegionCountries(region); !s.ok()) return s;
  }
  if (auto s = Admit(region, "region"); !s.ok()) return s;
  auto revision = CommitChanges(
      {StoredChange{0, ChangeKind::kCreated, ResourceKind::kRegion, region.id(),
                    0, region.SerializeAsString()}},
      {}, &call);
  if (!revision.ok()) return revision.status();
  absl::ReaderMutexLock lock(&mu_);
  v1::CreateRegionResponse response;
  response.mutable_region()->ParseFromString(regions_.at(region.id()).data);
  return response;
}

absl::StatusOr<v1::UpdateRegionResponse> RegistryCore::UpdateRegion(
    const v1::UpdateRegionRequest& request, const audit::Invocation& call) {
  auto mask =
      EffectiveMask(request.update_mask(), WritableFields<Region>(), "region");
  if (!mask.ok()) return mask.status();
  if (auto s = CheckId(request.region().id(), "region.id"); !s.ok()) return s;
  absl::MutexLock write(&write_mu_);
  Region region;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = regions_.find(request.region().id());
    if (it == regions_.end()) return NotFound("region", request.region().id());
    auto stored = Parse<Region>(ResourceKind::kRegion, it->first,
                                it->second.revision, it->second.data);
    if (!stored.ok()) return stored.status();
    region = std::move(*stored);
    if (!request.region().etag().empty() &&
        request.region().etag() != region.etag()) {
      return EtagMismatch("region", region.id(), request.region().etag(),
                          region.etag());
    }
    FieldMaskUtil::MergeOptions options;
    options.set_replace_repeated_fields(true);
    options.set_replace_message_fields(true);
    FieldMaskUtil::MergeMessageTo(request.region(), *mask, options, &region);
    if (auto s = ValidateRegion(region); !s.ok()) return s;
    if (auto s = ValidateRegionCountries(region); !s.ok()) return s;
  }
  if (auto s = Admit(region, "region"); !s.ok()) return s;
  auto revision = CommitChanges(
      {StoredChange{0, ChangeKind::kUpdated, ResourceKind::kRegion, region.id(),
                    0, region.SerializeAsString()}},
      {}, &call);
  if (!revision.ok()) return revision.status();
  absl::ReaderMutexLock lock(&mu_);
  v1::UpdateRegionResponse response;
  response.mutable_region()->ParseFromString(regions_.at(region.id()).data);
  return response;
}

absl::Status RegistryCore::CheckNotCited(ResourceKind kind,
                                         const std::string& id,
                                         absl::Time deadline) const {
  if (options_.citations == nullptr) return absl::OkStatus();
  auto record = options_.citations->FirstCitingRecord(kind, id, deadline);
  if (!record.ok()) return record.status();
  if (!record->has_value()) return absl::OkStatus();
  const std::string type = TypeName(kind);
  return WithReason(
      absl::FailedPreconditionError(absl::StrCat(
          type, " \"", id, "\" is cited by cooperation record \"", **record,
          "\" (and perhaps others); change or delete the records that cite "
          "it first")),
      kind == ResourceKind::kRegion ? "REGION_IN_USE" : "ORGANISATION_IN_USE",
      {{"resource_type", type}, {"resource_name", id}, {"record", **record}});
}

absl::StatusOr<v1::DeleteRegionResponse> RegistryCore::DeleteRegion(
    const v1::DeleteRegionRequest& request, const audit::Invocation& call,
    absl::Time deadline) {
  if (auto s = CheckId(request.id(), "id"); !s.ok()) return s;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (!regions_.count(request.id())) return NotFound("region", request.id());
  }
  if (auto s = CheckNotCited(ResourceKind::kRegion, request.id(), deadline);
      !s.ok()) {
    return s;
  }
  absl::MutexLock write(&write_mu_);
  auto revision = DeleteById<Region>(ResourceKind::kRegion, "region",
                                     request.id(), request.etag(), call);
  if (!revision.ok()) return revision.status();
  v1::DeleteRegionResponse response;
  response.set_revision(*revision);
  return response;
}

absl::StatusOr<v1::GetOrganisationResponse> RegistryCore::GetOrganisation(
    const v1::GetOrganisationRequest& request) const {
  if (auto status = CheckId(request.id(), "id"); !status.ok()) return status;
  absl::ReaderMutexLock lock(&mu_);
  auto it = organisations_.find(request.id());
  if (it == organisations_.end()) return NotFound("organisation", request.id());
  auto organisation =
      Parse<Organisation>(ResourceKind::kOrganisation, it->first,
                          it->second.revision, it->second.data);
  if (!organisation.ok()) return organisation.status();
  v1::GetOrganisationResponse response;
  *response.mutable_organisation() = std::move(*organisation);
  return response;
}

absl::StatusOr<v1::ListOrganisationsResponse> RegistryCore::ListOrganisations(
    const v1::ListOrganisationsRequest& request) const {
  auto page_size =
      EffectivePageSize(request.page_size(), kDefaultPageSize, kMaxPageSize);
  if (!page_size.ok()) return page_size.status();
  auto after = DecodePageToken(request.page_token(), FilterHash(request));
  if (!after.ok()) return after.status();
  std::set<int> kinds;
  for (int i = 0; i < request.kinds_size(); ++i) {
    const int kind = request.kinds(i);
    if (kind == v1::ORGANISATION_KIND_UNSPECIFIED ||
        !v1::OrganisationKind_IsValid(kind)) {
      return InvalidArgument(
          absl::StrCat("kinds[", i, "]"),
          absl::StrCat(kind, " is not an organisation kind"));
    }
    kinds.insert(kind);
  }
  absl::ReaderMutexLock lock(&mu_);
  v1::ListOrganisationsResponse response;
  response.set_revision(revision_);
  response.set_incarnation(incarnation_);
  PageBudget budget(options_.max_page_bytes);
  int total = 0;
  for (const auto& [id, entry] : organisations_) {
    auto parsed = Parse<Organisation>(ResourceKind::kOrganisation, id,
                                      entry.revision, entry.data);
    if (!parsed.ok()) return parsed.status();
    Organisation organisation = std::move(*parsed);
    if (!kinds.empty() && !kinds.count(organisation.kind())) continue;
    ++total;
    if (!after->empty() && id <= *after) continue;
    if (response.organisations_size() < *page_size &&
        budget.Take(organisation.ByteSizeLong())) {
      *response.add_organisations() = std::move(organisation);
    } else if (response.next_page_token().empty()) {
      response.set_next_page_token(EncodePageToken(
          response.organisations(response.organisations_size() - 1).id(),
          FilterHash(request)));
    }
  }
  response.set_total_size(total);
  return response;
}

absl::StatusOr<v1::CreateOrganisationResponse> RegistryCore::CreateOrganisation(
    const v1::CreateOrganisationRequest& request,
    const audit::Invocation& call) {
  Organisation organisation = request.organisation();
  if (auto s = CheckId(organisation.id(), "organisation.id"); !s.ok()) return s;
  if (auto s = ValidateOrganisation(organisation); !s.ok()) return s;
  ClearOutputOnly(organisation);
  organisation.clear_etag();
  if (auto s = Admit(organisation, "organisation"); !s.ok()) return s;
  absl::MutexLock write(&write_mu_);
  {
    absl::ReaderMutexLock lock(&mu_);
    if (organisations_.count(organisation.id())) {
      return AlreadyExists("organisation", organisation.id());
    }
    if (auto s = CheckRoom(organisations_.size(), "organisations"); !s.ok()) {
      return s;
    }
  }
  auto revision = CommitChanges(
      {StoredChange{0, ChangeKind::kCreated, ResourceKind::kOrganisation,
                    organisation.id(), 0, organisation.SerializeAsString()}},
      {}, &call);
  if (!revision.ok()) return revision.status();
  absl::ReaderMutexLock lock(&mu_);
  v1::CreateOrganisationResponse response;
  response.mutable_organisation()->ParseFromString(
      organisations_.at(organisation.id()).data);
  return response;
}

absl::StatusOr<v1::UpdateOrganisationResponse> RegistryCore::UpdateOrganisation(
    const v1::UpdateOrganisationRequest& request,
    const audit::Invocation& call) {
  auto mask = EffectiveMask(request.update_mask(),
                            WritableFields<Organisation>(), "organisation");
  if (!mask.ok()) return mask.status();
  if (auto s = CheckId(request.organisation().id(), "organisation.id");
      !s.ok()) {
    return s;
  }
  absl::MutexLock write(&write_mu_);
  Organisation organisation;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = organisations_.find(request.organisation().id());
    if (it == organisations_.end()) {
      return NotFound("organisation", request.organisation().id());
    }
    auto stored = Parse<Organisation>(ResourceKind::kOrganisation, it->first,
                                      it->second.revision, it->second.data);
    if (!stored.ok()) return stored.status();
    organisation = std::move(*stored);
  }
  if (!request.organisation().etag().empty() &&
      request.organisation().etag() != organisation.etag()) {
    return EtagMismatch("organisation", organisation.id(),
                        request.organisation().etag(), organisation.etag());
  }
  FieldMaskUtil::MergeOptions options;
  options.set_replace_repeated_fields(true);
  FieldMaskUtil::MergeMessageTo(request.organisation(), *mask, options,
                                &organisation);
  if (auto s = ValidateOrganisation(organisation); !s.ok()) return s;
  if (auto s = Admit(organisation, "organisation"); !s.ok()) return s;
  auto revision = CommitChanges(
      {StoredChange{0, ChangeKind::kUpdated, ResourceKind::kOrganisation,
                    organisation.id(), 0, organisation.SerializeAsString()}},
      {}, &call);
  if (!revision.ok()) return revision.status();
  absl::ReaderMutexLock lock(&mu_);
  v1::UpdateOrganisationResponse response;
  response.mutable_organisation()->ParseFromString(
      organisations_.at(organisation.id()).data);
  return response;
}

absl::StatusOr<v1::DeleteOrganisationResponse> RegistryCore::DeleteOrganisation(
    const v1::DeleteOrganisationRequest& request, const audit::Invocation& call,
    absl::Time deadline) {
  if (auto s = CheckId(request.id(), "id"); !s.ok()) return s;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (!organisations_.count(request.id())) {
      return NotFound("organisation", request.id());
    }
  }
  if (auto s =
          CheckNotCited(ResourceKind::kOrganisation, request.id(), deadline);
      !s.ok()) {
    return s;
  }
  absl::MutexLock write(&write_mu_);
  auto revision =
      DeleteById<Organisation>(ResourceKind::kOrganisation, "organisation",
                               request.id(), request.etag(), call);
  if (!revision.ok()) return revision.status();
  v1::DeleteOrganisationResponse response;
  response.set_revision(*revision);
  return response;
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
  auto query =
      audit::QueryOf(request, options_.clock(), options_.audit_retention);
  if (!query.ok()) return query.status();
  auto events = store_->ReadAudit(*query);
  if (!events.ok()) return events.status();
  return audit::ResponseOf(request, std::move(*events));
}

}  // namespace thb::registry
