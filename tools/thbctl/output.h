#ifndef THB_TOOLS_THBCTL_OUTPUT_H_
#define THB_TOOLS_THBCTL_OUTPUT_H_

#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace thb::thbctl {

enum class Format { kTable, kJson, kCsv };

// The --format value: "table", "json" or "csv", one of `accepted`; empty
// gives `fallback`. Anything else is a usage error listing `accepted`.
absl::StatusOr<Format> ParseFormat(std::string_view text,
                                   const std::vector<Format>& accepted,
                                   Format fallback);

// Rows printed in aligned columns, the header first, two spaces apart.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  bool empty() const { return rows_.empty(); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// One resource as "name:  value" lines with the values aligned; a value with
// line breaks continues under itself.
using Details = std::vector<std::pair<std::string, std::string>>;
void PrintDetails(const Details& details, std::ostream& out);

// One CSV line (RFC 4180): a field with a comma, a double quote or a line
// break is quoted, its quotes doubled; the line ends in CRLF.
std::string CsvLine(const std::vector<std::string>& fields);

// The protobuf JSON mapping with the .proto field names, indented.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);

// Writes ToJson(message) to `out`.
absl::Status PrintJson(const google::protobuf::Message& message,
                       std::ostream& out);

// Writes `text` to the file `path`, or to `out` when `path` is empty.
absl::Status WriteOutput(const std::string& text, const std::string& path,
                         std::ostream& out);

// `text` cut to `max_width` characters, "..." marking the cut.
std::string Truncated(std::string_view text, size_t max_width);

// A progress bar redrawn in place; for a terminal only.
class ProgressBar {
 public:
  // Draws nothing when `out` is null.
  ProgressBar(std::ostream* out, std::string label, int total);
  void Update(int done);
  // Erases the bar.
  void Finish();

 private:
  std::ostream* out_;
  std::string label_;
  int total_;
};

}  // namespace thb::thbctl

#endif  // THB_TOOLS_THBCTL_OUTPUT_H_
