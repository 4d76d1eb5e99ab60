// The EMN status of every country of the index on one day, judged once and
// shared by the queries of that day.

#include <array>
#include <cstddef>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/dates.h"
#include "domain/emn_status.h"
#include "services/aggregator/query_engine_internal.h"

namespace thb::aggregator::internal {
namespace {

// The last few tables, shared by every query: a server answers over one
// index, and nearly always for today under the latest snapshot.
class StatusTables {
 public:
  std::shared_ptr<const StatusTable> Get(
      const RecordIndex& index, const registry::RegistrySnapshot& registry,
      absl::CivilDay as_of) {
    // Each thread's last table first: it nearly always fits, and taking it
    // needs no lock.
    thread_local std::shared_ptr<const StatusTable> last;
    if (last != nullptr && last->Fits(index, registry, as_of)) return last;
    last = Find(index, registry, as_of);
    return last;
  }

 private:
  std::shared_ptr<const StatusTable> Find(
      const RecordIndex& index, const registry::RegistrySnapshot& registry,
      absl::CivilDay as_of) {
    {
      absl::MutexLock lock(&mu_);
      for (const auto& table : tables_) {
        if (table != nullptr && table->Fits(index, registry, as_of)) {
          return table;
        }
      }
    }
    // Judged outside the lock; two queries that miss together both judge,
    // and both tables are right.
    auto table = std::make_shared<StatusTable>();
    table->country_generation = index.country_generation();
    table->registry = registry.identity.value();
    table->day = as_of;
    table->statuses.resize(index.country_count(),
                           registry::v1::EMN_STATUS_NONE);
    const std::string date = FormatDate(as_of);
    for (size_t c = 0; c < index.country_count(); ++c) {
      auto it = registry.countries.find(
          index.country_code(static_cast<CountryId>(c)));
      if (it != registry.countries.end()) {
        table->statuses[c] = domain::StatusOnDate(it->second, date);
      }
    }
    absl::MutexLock lock(&mu_);
    tables_[next_] = table;
    next_ = (next_ + 1) % tables_.size();
    return table;
  }

  absl::Mutex mu_;
  std::array<std::shared_ptr<const StatusTable>, 8> tables_
      ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

StatusTables& SharedStatusTables() {
  static StatusTables* const tables = new StatusTables();
  return *tables;
}

}  // namespace

std::shared_ptr<const StatusTable> StatusTableOf(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of) {
  return SharedStatusTables().Get(index, registry, as_of);
}

}  // namespace thb::aggregator::internal
