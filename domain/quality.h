#ifndef THB_DOMAIN_QUALITY_H_
#define THB_DOMAIN_QUALITY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "domain/footnote.h"
#include "thb/cooperation/v1/cooperation.pb.h"
#include "thb/cooperation/v1/dataset.pb.h"
#include "thb/registry/v1/registry.pb.h"

namespace thb::domain {

enum class Severity {
  // A quirk of the source that the records keep as published: a `within`
  // statement with countries outside, contrasted statements that share some.
  kWarning,
  // The records do not give back what the source publishes, or the
  // statements cannot be checked.
  kError,
};

struct Finding {
  Severity severity;
  // The footnote of the statement concerned; 0 for one without a footnote.
  int footnote;
  std::string message;
  // The countries the finding is about, in study order; empty when it is
  // about a figure as a whole.
  std::vector<std::string> countries;
};

// A country's EMN status on a given day.
using StatusOnDay = std::function<registry::v1::EmnStatus(
    const std::string& code, absl::CivilDay day)>;

// The data-quality check of a dataset's statements against `records` (those
// of the dataset, or those a live store holds). A statement's countries are
// the reporting countries of the records its filter matches, their statuses
// judged on the statement's as_of_date, else the dataset's, else today. For
// each statement, in order:
//  - ERROR when their number differs from `count`, or their footnote
//    (StudyFootnote) from `countries` (when the source prints a list);
//  - ERROR for a reporting country that is neither Member nor Observer;
//  - WARNING listing the countries outside a statement it is `within`;
//  - WARNING listing the countries it shares with a statement it is
//    `contrasted_with`;
//  - ERROR for a date that does not parse or a relation to a footnote that
//    no statement has.
// No findings means every figure comes back as published.
std::vector<Finding> CheckDataset(
    const cooperation::v1::Dataset& dataset,
    const std::vector<cooperation::v1::CooperationRecord>& records,
    const StatusOnDay& status_on);

// As above with one status per country, for datasets whose statements are
// all judged on one date: `status_of` answers for that date, and the dates
// of the dataset and its statements are not consulted.
std::vector<Finding> CheckDataset(
    const cooperation::v1::Dataset& dataset,
    const std::vector<cooperation::v1::CooperationRecord>& records,
    const StatusOf& status_of);

// "WARNING fn 11: ..." for logs and the command line.
std::string FormatFinding(const Finding& finding);

}  // namespace thb::domain

#endif  // THB_DOMAIN_QUALITY_H_
