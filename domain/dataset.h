#ifndef THB_DOMAIN_DATASET_H_
#define THB_DOMAIN_DATASET_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "thb/cooperation/v1/dataset.pb.h"

namespace thb::domain {

// Reads a dataset file: protobuf text format, or the protobuf JSON mapping
// when the name ends in ".json". A file that cannot be read is NOT_FOUND; a
// syntax error is INVALID_ARGUMENT naming the path, line and column
// ("data/study.txtpb:12:5: ..."); a dataset that parses but does not hold
// together (see ValidateDataset) is INVALID_ARGUMENT naming the path and the
// field.
absl::StatusOr<cooperation::v1::Dataset> LoadDataset(const std::string& path);

// Parses dataset text; `name` stands for the file in messages.
absl::StatusOr<cooperation::v1::Dataset> ParseDatasetText(
    const std::string& text, const std::string& name);
absl::StatusOr<cooperation::v1::Dataset> ParseDatasetJson(
    const std::string& json, const std::string& name);

// Checks what a dataset file must get right before its records are
// imported: dates in the form YYYY-MM-DD, valid statement filters,
// footnotes that are non-negative and unique among statements (0 excepted),
// `within` and `contrasted_with` naming another statement's footnote,
// non-negative counts, and unique record ids. The records themselves are
// validated by the cooperation service on import. INVALID_ARGUMENT with one
// violation per problem, each naming its field ("statements[3].within[0]").
absl::Status ValidateDataset(const cooperation::v1::Dataset& dataset);

// Writes `dataset` to `path` in text format, or in the JSON mapping when the
// name ends in ".json", with WriteFileAtomically. Comments of a file it was
// read from are not kept.
absl::Status SaveDataset(const cooperation::v1::Dataset& dataset,
                         const std::string& path);

// Replaces `path` with `contents` whole or not at all: written to a new
// file in the same directory, flushed to disk, then renamed over `path`.
// A failed write (a full disk) leaves the old file as it was and no
// temporary file behind. The file keeps the old one's permissions, or gets
// 0644. FAILED_PRECONDITION naming the path and the reason.
absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view contents);

}  // namespace thb::domain

#endif  // THB_DOMAIN_DATASET_H_
