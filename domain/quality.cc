#include "domain/quality.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/dates.h"
#include "domain/country_code.h"
#include "domain/record_filter.h"

namespace thb::domain {
namespace {

using cooperation::v1::CooperationRecord;
using cooperation::v1::Dataset;
using cooperation::v1::Statement;
using registry::v1::EmnStatus;

std::string Label(const Statement& statement, int index) {
  if (statement.footnote() > 0)
    return absl::StrCat("fn ", statement.footnote());
  return absl::StrCat("statement ", index + 1, " (no footnote)");
}

// What one statement's records give.
struct Computed {
  // The date statuses are judged at; empty when it does not parse.
  std::optional<absl::CivilDay> day;
  std::set<std::string> countries;
};

class Checker {
 public:
  Checker(const Dataset& dataset, const std::vector<CooperationRecord>& records,
          const StatusOnDay& status_on)
      : dataset_(dataset), records_(records), status_on_(status_on) {}

  std::vector<Finding> Run() {
    for (int i = 0; i < dataset_.statements_size(); ++i) {
      computed_.push_back(Compute(dataset_.statements(i), i));
    }
    for (int i = 0; i < dataset_.statements_size(); ++i) {
      if (dataset_.statements(i).footnote() > 0) {
        by_footnote_.emplace(dataset_.statements(i).footnote(), i);
      }
    }
    for (int i = 0; i < dataset_.statements_size(); ++i) Check(i);
    return std::move(findings_);
  }

 private:
  void Add(Severity severity, const Statement& statement, std::string message,
           std::vector<std::string> countries = {}) {
    findings_.push_back(Finding{severity, statement.footnote(),
                                std::move(message), std::move(countries)});
  }

  StatusOf StatusOfOn(absl::CivilDay day) const {
    return
        [this, day](const std::string& code) { return status_on_(code, day); };
  }

  Computed Compute(const Statement& statement, int index) {
    Computed computed;
    const std::string& date = !statement.as_of_date().empty()
                                  ? statement.as_of_date()
                                  : dataset_.as_of_date();
    auto day = ParseDateOrToday(date, "as_of_date");
    if (!day.ok()) {
      Add(Severity::kError, statement,
          absl::StrCat(Label(statement, index), ": cannot judge EMN statuses: ",
                       day.status().message()));
      return computed;
    }
    computed.day = *day;
    for (const CooperationRecord& record : records_) {
      const std::string code = CanonicalCountryCode(record.reporting_country());
      if (Matches(record, statement.filter(), status_on_(code, *day))) {
        computed.countries.insert(code);
      }
    }
    return computed;
  }

  std::vector<std::string> InStudyOrder(const std::set<std::string>& codes,
                                        absl::CivilDay day) const {
    return CountryOrder({codes.begin(), codes.end()}, StatusOfOn(day));
  }

  void Check(int index) {
    const Statement& statement = dataset_.statements(index);
    const Computed& computed = computed_[index];
    if (!computed.day.has_value()) return;
    const absl::CivilDay day = *computed.day;
    const std::string label = Label(statement, index);
    const StatusOf status_of = StatusOfOn(day);

    std::vector<std::string> outsiders;
    for (const auto& code : computed.countries) {
      const EmnStatus status = status_of(code);
      if (status != registry::v1::EMN_STATUS_MEMBER &&
          status != registry::v1::EMN_STATUS_OBSERVER) {
        outsiders.push_back(code);
      }
    }
    if (!outsiders.empty()) {
      std::string message = absl::StrCat(
          label, ": ", absl::StrJoin(outsiders, ", "),
          outsiders.size() == 1 ? " is" : " are",
          " neither an EMN Member nor an Observer on ", FormatDate(day));
      Add(Severity::kError, statement, std::move(message),
          std::move(outsiders));
    }

    const int count = static_cast<int>(computed.countries.size());
    if (count != statement.count()) {
      Add(Severity::kError, statement,
          absl::StrCat(label, ": the records give ", count,
                       count == 1 ? " country" : " countries",
                       ", the source says ", statement.count()));
    }
    if (!statement.countries().empty()) {
      const std::string footnote = StudyFootnote(
          {computed.countries.begin(), computed.countries.end()}, status_of);
      if (footnote != statement.countries()) {
        Add(Severity::kError, statement,
            absl::StrCat(label, ": the records give \"", footnote,
                         "\", the source prints \"", statement.countries(),
                         "\""));
      }
    }

    for (int target : statement.within()) {
      const Computed* other = Related(statement, index, target, "within");
      if (other == nullptr) continue;
      std::set<std::string> outside;
      std::set_difference(computed.countries.begin(), computed.countries.end(),
                          other->countries.begin(), other->countries.end(),
                          std::inserter(outside, outside.end()));
      if (outside.empty()) continue;
      std::vector<std::string> ordered = InStudyOrder(outside, day);
      std::string message = absl::StrCat(
          label, ": ", absl::StrJoin(ordered, ", "),
          ordered.size() == 1 ? " is" : " are", " not in fn ", target,
          ", which the source presents as including ", label, "'s countries");
      Add(Severity::kWarning, statement, std::move(message),
          std::move(ordered));
    }
    for (int target : statement.contrasted_with()) {
      const Computed* other =
          Related(statement, index, target, "contrasted_with");
      if (other == nullptr) continue;
      std::set<std::string> shared;
      std::set_intersection(computed.countries.begin(),
                            computed.countries.end(), other->countries.begin(),
                            other->countries.end(),
                            std::inserter(shared, shared.end()));
      if (shared.empty()) continue;
      std::vector<std::string> ordered = InStudyOrder(shared, day);
      std::string message =
          absl::StrCat(label, ": ", absl::StrJoin(ordered, ", "),
                       ordered.size() == 1 ? " is" : " are", " also in fn ",
                       target, ", which the source contrasts with ", label);
      Add(Severity::kWarning, statement, std::move(message),
          std::move(ordered));
    }
  }

  // The computed countries of the statement with footnote `target`, or null
  // (with an ERROR) when there is none to compare with.
  const Computed* Related(const Statement& statement, int index, int target,
                          const char* relation) {
    auto it = by_footnote_.find(target);
    if (target <= 0 || it == by_footnote_.end() || it->second == index) {
      Add(Severity::kError, statement,
          absl::StrCat(Label(statement, index), ": ", relation, " names fn ",
                       target, ", which no other statement has"));
      return nullptr;
    }
    const Computed& other = computed_[it->second];
    return other.day.has_value() ? &other : nullptr;
  }

  const Dataset& dataset_;
  const std::vector<CooperationRecord>& records_;
  const StatusOnDay& status_on_;
  std::vector<Computed> computed_;
  std::map<int, int> by_footnote_;
  std::vector<Finding> findings_;
};

}  // namespace

std::vector<Finding> CheckDataset(const Dataset& dataset,
                                  const std::vector<CooperationRecord>& records,
                                  const StatusOnDay& status_on) {
  return Checker(dataset, records, status_on).Run();
}

std::vector<Finding> CheckDataset(const Dataset& dataset,
                                  const std::vector<CooperationRecord>& records,
                                  const StatusOf& status_of) {
  const StatusOnDay status_on = [&status_of](const std::string& code,
                                             absl::CivilDay) {
    return status_of(code);
  };
  return CheckDataset(dataset, records, status_on);
}

std::string FormatFinding(const Finding& finding) {
  return absl::StrCat(
      finding.severity == Severity::kError ? "ERROR " : "WARNING ",
      finding.message);
}

}  // namespace thb::domain
