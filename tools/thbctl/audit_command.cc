// thbctl audit: the audit logs of the registry and the cooperation service,
// merged newest first.

#include <algorithm>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/string_view.h"
#include "google/protobuf/util/time_util.h"
#include "tools/thbctl/commands.h"

namespace thb::thbctl {
namespace {

using google::protobuf::util::TimeUtil;
using registry::v1::AuditEvent;
using registry::v1::ListAuditEventsRequest;
using registry::v1::ListAuditEventsResponse;

// The largest page the services serve.
constexpr int kMaxPage = 1000;

// "registry" for "/thb.registry.v1.CountryRegistryService/CreateCountry".
std::string ServiceOf(const std::string& method) {
  std::vector<std::string> parts = absl::StrSplit(method, '.');
  return parts.size() > 1 ? parts[1] : method;
}

// "CreateCountry" for the same.
std::string RpcOf(const std::string& method) {
  const size_t slash = method.rfind('/');
  return slash == std::string::npos ? method : method.substr(slash + 1);
}

// Up to `limit` events of one service, newest first.
template <typename Stub>
absl::Status Gather(const Client<Stub>& client,
                    grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                 const ListAuditEventsRequest&,
                                                 ListAuditEventsResponse*),
                    ListAuditEventsRequest request, int limit,
                    std::vector<AuditEvent>& events) {
  int gathered = 0;
  request.set_page_size(std::min(limit, kMaxPage));
  absl::Status status = client.ForEachPage(
      method, std::move(request), [&](ListAuditEventsResponse& page) {
        for (auto& event : *page.mutable_events()) {
          if (gathered == limit) break;
          events.push_back(std::move(event));
          ++gathered;
        }
        // Enough: stop paging without an error.
        if (gathered == limit) page.clear_next_page_token();
        return absl::OkStatus();
      });
  return status;
}

}  // namespace

absl::StatusOr<google::protobuf::Timestamp> AuditTimeFlag(
    std::string_view flag, const std::string& value, absl::Time now) {
  absl::Duration ago;
  if (absl::ParseDuration(value, &ago) && ago >= absl::ZeroDuration()) {
    return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now - ago));
  }
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, value, &time, &error)) {
    return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
  }
  return UsageError(absl::StrCat(
      ToAbsl(flag), ": \"", value,
      "\" is neither a time like 2026-01-31T12:00:00Z nor a duration back "
      "from now like 24h"));
}

absl::Status ListAudit(Clients& clients, const AuditOptions& options,
                       std::ostream& out) {
  std::vector<AuditEvent> events;
  if (options.registry) {
    if (auto status = Gather(clients.registry(), &RegistryStub::ListAuditEvents,
                             options.request, options.limit, events);
        !status.ok()) {
      return status;
    }
  }
  if (options.cooperation) {
    if (auto status =
            Gather(clients.cooperation(), &CooperationStub::ListAuditEvents,
                   options.request, options.limit, events);
        !status.ok()) {
      return status;
    }
  }
  // The services number their events apart: time orders them together.
  std::stable_sort(events.begin(), events.end(),
                   [](const AuditEvent& a, const AuditEvent& b) {
                     return TimeUtil::TimestampToMicroseconds(a.time()) >
                            TimeUtil::TimestampToMicroseconds(b.time());
                   });
  if (static_cast<int>(events.size()) > options.limit) {
    events.resize(options.limit);
  }

  if (options.format == Format::kJson) {
    ListAuditEventsResponse all;
    for (auto& event : events) *all.add_events() = std::move(event);
    return PrintJson(all, out);
  }
  Table table({"TIME", "SERVICE", "PRINCIPAL", "METHOD", "RESOURCE", "REVISION",
               "REQUEST ID", "PEER"});
  for (const AuditEvent& event : events) {
    table.AddRow({TimeUtil::ToString(event.time()), ServiceOf(event.method()),
                  event.principal(), RpcOf(event.method()), event.resource(),
                  absl::StrCat(event.revision()), event.request_id(),
                  event.peer()});
  }
  table.Print(out);
  return absl::OkStatus();
}

}  // namespace thb::thbctl
