#include "tools/thbctl/output.h"

#include <algorithm>
#include <ostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/string_view.h"
#include "domain/dataset.h"
#include "google/protobuf/util/json_util.h"
#include "tools/thbctl/cli.h"

namespace thb::thbctl {
namespace {

constexpr int kProgressWidth = 30;

const char* FormatName(Format format) {
  switch (format) {
    case Format::kTable:
      return "table";
    case Format::kJson:
      return "json";
    case Format::kCsv:
      return "csv";
  }
  return "";
}

// Characters on screen rather than bytes: country names are UTF-8
// ("Côte d'Ivoire"), and a column must not shift for them.
size_t DisplayWidth(std::string_view text) {
  return std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
}

void PrintPadded(std::ostream& out, std::string_view text, size_t width) {
  out << text;
  for (size_t i = DisplayWidth(text); i < width; ++i) out << ' ';
}

}  // namespace

absl::StatusOr<Format> ParseFormat(std::string_view text,
                                   const std::vector<Format>& accepted,
                                   Format fallback) {
  if (text.empty()) return fallback;
  std::vector<std::string> names;
  for (Format format : accepted) {
    if (text == FormatName(format)) return format;
    names.push_back(FormatName(format));
  }
  return UsageError(absl::StrCat(
      "--format: \"", ToAbsl(text),
      "\" is not accepted here; accepted: ", absl::StrJoin(names, ", ")));
}

Table::Table(std::vector<std::string> header) : header_(std::move(header)) {}

void Table::AddRow(std::vector<std::string> row) {
  row.resize(header_.size());
  rows_.push_back(std::move(row));
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths(header_.size());
  for (size_t i = 0; i < header_.size(); ++i) {
    widths[i] = DisplayWidth(header_[i]);
    for (const auto& row : rows_) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  const auto print_row = [&](const std::vector<std::string>& row) {
    std::ostringstream line;
    for (size_t i = 0; i < row.size(); ++i) {
      PrintPadded(line, row[i], i + 1 == row.size() ? 0 : widths[i] + 2);
    }
    // Empty last columns leave no blanks at the end of the line.
    out << absl::StripTrailingAsciiWhitespace(line.str()) << "\n";
  };
  print_row(header_);
  for (const auto& row : rows_) print_row(row);
}

void PrintDetails(const Details& details, std::ostream& out) {
  size_t width = 0;
  for (const auto& [name, value] : details) {
    width = std::max(width, DisplayWidth(name) + 1);
  }
  for (const auto& [name, value] : details) {
    bool first = true;
    for (absl::string_view line : absl::StrSplit(value, '\n')) {
      std::ostringstream text;
      PrintPadded(text, first ? absl::StrCat(name, ":") : "", width + 2);
      text << line;
      out << absl::StripTrailingAsciiWhitespace(text.str()) << "\n";
      first = false;
    }
  }
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::vector<std::string> quoted;
  quoted.reserve(fields.size());
  for (const std::string& field : fields) {
    if (field.find_first_of(",\"\r\n") == std::string::npos) {
      quoted.push_back(field);
    } else {
      quoted.push_back(absl::StrCat(
          "\"", absl::StrReplaceAll(field, {{"\"", "\"\""}}), "\""));
    }
  }
  return absl::StrCat(absl::StrJoin(quoted, ","), "\r\n");
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  if (auto status =
          google::protobuf::util::MessageToJsonString(message, &json, options);
      !status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print a ", message.GetDescriptor()->full_name(),
                     " as JSON: ", status.message().ToString()));
  }
  return json;
}

absl::Status PrintJson(const google::protobuf::Message& message,
                       std::ostream& out) {
  auto json = ToJson(message);
  if (!json.ok()) return json.status();
  out << *json;
  return absl::OkStatus();
}

absl::Status WriteOutput(const std::string& text, const std::string& path,
                         std::ostream& out) {
  if (path.empty()) {
    out << text;
    out.flush();
    return out ? absl::OkStatus()
               : absl::UnknownError("cannot write to standard output");
  }
  // An export interrupted (a full disk, Ctrl-C) must not leave half of a
  // file where the last good one was.
  return domain::WriteFileAtomically(path, text);
}

std::string Truncated(std::string_view text, size_t max_width) {
  if (DisplayWidth(text) <= max_width || max_width < 3) {
    return std::string(text);
  }
  // Cut at a character boundary, keeping room for the dots.
  size_t characters = 0;
  size_t end = 0;
  for (; end < text.size(); ++end) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) continue;
    if (characters == max_width - 3) break;
    ++characters;
  }
  return absl::StrCat(ToAbsl(text.substr(0, end)), "...");
}

ProgressBar::ProgressBar(std::ostream* out, std::string label, int total)
    : out_(out), label_(std::move(label)), total_(std::max(total, 1)) {}

void ProgressBar::Update(int done) {
  if (out_ == nullptr) return;
  const int filled =
      static_cast<int>(static_cast<int64_t>(done) * kProgressWidth / total_);
  *out_ << "\r" << label_ << " [" << std::string(filled, '#')
        << std::string(kProgressWidth - filled, ' ') << "] " << done << "/"
        << total_ << std::flush;
}

void ProgressBar::Finish() {
  if (out_ == nullptr) return;
  // Carriage return, then erase to the end of the line.
  *out_ << "\r\033[K" << std::flush;
}

}  // namespace thb::thbctl
