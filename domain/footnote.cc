#include "domain/footnote.h"

#include <algorithm>
#include <utility>

namespace thb::domain {
namespace {

using registry::v1::EmnStatus;

void SortUnique(std::vector<std::string>& codes) {
  std::sort(codes.begin(), codes.end());
  codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
}

// Both groups already in the order to print.
std::string JoinGroups(const std::vector<std::string>& first,
                       const std::vector<std::string>& second) {
  return OrderedFootnote(first.size() + second.size(), first.size(),
                         [&](size_t i) -> std::string_view {
                           return i < first.size() ? first[i]
                                                   : second[i - first.size()];
                         });
}

}  // namespace

int StudyRank(EmnStatus status) {
  switch (status) {
    case registry::v1::EMN_STATUS_MEMBER:
      return 0;
    case registry::v1::EMN_STATUS_OBSERVER:
      return 1;
    default:
      return 2;
  }
}

std::string Footnote(std::vector<std::string> members,
                     std::vector<std::string> observers) {
  SortUnique(members);
  SortUnique(observers);
  return JoinGroups(members, observers);
}

std::vector<std::string> CountryOrder(std::vector<std::string> codes,
                                      const StatusOf& status_of) {
  SortUnique(codes);
  std::vector<std::pair<int, std::string>> ranked;
  ranked.reserve(codes.size());
  for (auto& code : codes) {
    const int rank = StudyRank(status_of(code));
    ranked.emplace_back(rank, std::move(code));
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> ordered;
  ordered.reserve(ranked.size());
  for (auto& [rank, code] : ranked) ordered.push_back(std::move(code));
  return ordered;
}

std::string StudyFootnote(std::vector<std::string> codes,
                          const StatusOf& status_of) {
  std::vector<std::string> members;
  std::vector<std::string> others;
  for (auto& code : CountryOrder(std::move(codes), status_of)) {
    (status_of(code) == registry::v1::EMN_STATUS_MEMBER ? members : others)
        .push_back(std::move(code));
  }
  return JoinGroups(members, others);
}

}  // namespace thb::domain
