#include "domain/dataset.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/dates.h"
#include "common/errors.h"
#include "domain/record_filter.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"

namespace thb::domain {
namespace {

using cooperation::v1::Dataset;

// Keeps the first error of a parse with its position; the parser stops
// there anyway.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (has_error_) return;
    has_error_ = true;
    // The parser counts from zero; editors count from one.
    line_ = line + 1;
    column_ = column + 1;
    message_ = message;
  }

  bool has_error() const { return has_error_; }
  std::string Describe(const std::string& name) const {
    return absl::StrCat(name, ":", line_, ":", column_, ": ", message_);
  }

 private:
  bool has_error_ = false;
  int line_ = 0;
  int column_ = 0;
  std::string message_;
};

bool IsJsonPath(const std::string& path) {
  return absl::EndsWith(path, ".json");
}

// The same error with the file's name in front of its message, its details
// kept.
absl::Status InFile(const absl::Status& status, const std::string& name) {
  absl::Status prefixed(status.code(),
                        absl::StrCat(name, ": ", status.message()));
  status.ForEachPayload(
      [&](absl::string_view type_url, const absl::Cord& payload) {
        prefixed.SetPayload(type_url, payload);
      });
  return prefixed;
}

absl::StatusOr<Dataset> Validated(Dataset dataset, const std::string& name) {
  if (absl::Status status = ValidateDataset(dataset); !status.ok()) {
    return InFile(status, name);
  }
  return dataset;
}

void CheckDate(const std::string& date, const std::string& field,
               std::vector<FieldViolation>& violations) {
  if (date.empty()) return;
  if (auto parsed = ParseDate(date, field); !parsed.ok()) {
    for (auto& violation : FieldViolations(parsed.status())) {
      violations.push_back(std::move(violation));
    }
  }
}

}  // namespace

absl::StatusOr<Dataset> ParseDatasetText(const std::string& text,
                                         const std::string& name) {
  Dataset dataset;
  FirstErrorCollector errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &dataset)) {
    if (errors.has_error()) {
      return absl::InvalidArgumentError(errors.Describe(name));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": not a thb.cooperation.v1.Dataset in text format"));
  }
  return Validated(std::move(dataset), name);
}

absl::StatusOr<Dataset> ParseDatasetJson(const std::string& json,
                                         const std::string& name) {
  Dataset dataset;
  if (auto status = google::protobuf::util::JsonStringToMessage(json, &dataset);
      !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": not a thb.cooperation.v1.Dataset in JSON: ",
                     status.message().ToString()));
  }
  return Validated(std::move(dataset), name);
}

absl::StatusOr<Dataset> LoadDataset(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("dataset file", path);
  const std::string contents((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("cannot read \"", path, "\""));
  }
  return IsJsonPath(path) ? ParseDatasetJson(contents, path)
                          : ParseDatasetText(contents, path);
}

absl::Status ValidateDataset(const Dataset& dataset) {
  std::vector<FieldViolation> violations;
  CheckDate(dataset.as_of_date(), "as_of_date", violations);

  std::set<int> footnotes;
  for (int i = 0; i < dataset.statements_size(); ++i) {
    const auto& statement = dataset.statements(i);
    const std::string field = absl::StrCat("statements[", i, "]");
    if (statement.footnote() < 0) {
      violations.push_back(
          {field + ".footnote", absl::StrCat(statement.footnote(),
                                             " is negative (0: no footnote)")});
    } else if (statement.footnote() > 0 &&
               !footnotes.insert(statement.footnote()).second) {
      violations.push_back(
          {field + ".footnote", absl::StrCat("footnote ", statement.footnote(),
                                             " already has a statement")});
    }
    if (statement.count() < 0) {
      violations.push_back(
          {field + ".count", absl::StrCat(statement.count(), " is negative")});
    }
    for (auto& violation : FieldViolations(
             ValidateFilter(statement.filter(), field + ".filter"))) {
      violations.push_back(std::move(violation));
    }
    CheckDate(statement.as_of_date(), field + ".as_of_date", violations);
  }

  for (int i = 0; i < dataset.statements_size(); ++i) {
    const auto& statement = dataset.statements(i);
    const auto check_relation = [&](const auto& targets, const char* name) {
      for (int j = 0; j < targets.size(); ++j) {
        const int target = targets[j];
        const std::string field =
            absl::StrCat("statements[", i, "].", name, "[", j, "]");
        if (target == statement.footnote()) {
          violations.push_back(
              {field,
               absl::StrCat("footnote ", target, " is the statement's own")});
        } else if (target <= 0 || !footnotes.count(target)) {
          violations.push_back(
              {field, absl::StrCat("no statement has footnote ", target)});
        }
      }
    };
    check_relation(statement.within(), "within");
    check_relation(statement.contrasted_with(), "contrasted_with");
  }

  std::set<std::string> ids;
  for (int i = 0; i < dataset.records_size(); ++i) {
    const std::string& id = dataset.records(i).id();
    if (!id.empty() && !ids.insert(id).second) {
      violations.push_back({absl::StrCat("records[", i, "].id"),
                            absl::StrCat("\"", id, "\" is used twice")});
    }
  }

  if (violations.empty()) return absl::OkStatus();
  return InvalidArgument(std::move(violations));
}

absl::Status SaveDataset(const Dataset& dataset, const std::string& path) {
  std::string contents;
  if (IsJsonPath(path)) {
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    if (auto status = google::protobuf::util::MessageToJsonString(
            dataset, &contents, options);
        !status.ok()) {
      return absl::InternalError(absl::StrCat(
          "cannot print the dataset as JSON: ", status.message().ToString()));
    }
  } else if (!google::protobuf::TextFormat::PrintToString(dataset, &contents)) {
    return absl::InternalError("cannot print the dataset in text format");
  }
  return WriteFileAtomically(path, contents);
}

absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view contents) {
  const auto failed = [&path](const char* step, int error) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot write \"", path, "\": ", step, ": ", std::strerror(error)));
  };
  mode_t mode = 0644;
  if (struct stat old; ::stat(path.c_str(), &old) == 0) {
    mode = old.st_mode & 07777;
  }
  std::string temporary = absl::StrCat(path, ".tmp-XXXXXX");
  const int fd = ::mkstemp(temporary.data());
  if (fd < 0) return failed("creating a temporary file beside it", errno);
  const auto abandon = [&](const char* step) {
    const int error = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    return failed(step, error);
  };
  for (size_t written = 0; written < contents.size();) {
    const ssize_t n =
        ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return abandon("writing");
    written += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0) return abandon("setting its permissions");
  if (::fsync(fd) != 0) return abandon("flushing it to disk");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return failed("closing", error);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return failed("renaming the temporary file over it", error);
  }
  // The rename is durable once the directory is.
  std::string directory = path.substr(0, path.find_last_of('/') + 1);
  if (directory.empty()) directory = ".";
  if (const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
      dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return absl::OkStatus();
}

}  // namespace thb::domain
