#include "tools/codebook/codebook.h"

#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace thb::codebook {
namespace {

using cooperation::v1::TagVocabulary;
using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorSet;
using google::protobuf::SourceLocation;

constexpr absl::string_view kExamplePrefix = "Example:";

// Collects every error of building a file, for one message naming them all.
class PoolErrors : public DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const google::protobuf::Message* /*descriptor*/,
                ErrorLocation /*location*/,
                const std::string& message) override {
    errors_.push_back(
        absl::StrCat(filename, ": ", element_name, ": ", message));
  }
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

class FirstTextError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!message_.empty()) return;
    // The parser counts from zero; editors count from one.
    line_ = line + 1;
    column_ = column + 1;
    message_ = message;
  }
  std::string Describe(const std::string& name) const {
    return absl::StrCat(name, ":", line_, ":", column_, ": ", message_);
  }

 private:
  int line_ = 0;
  int column_ = 0;
  std::string message_;
};

// Comment lines joined by spaces into paragraphs; a blank line starts a new
// paragraph.
std::string JoinParagraphs(absl::string_view comment) {
  std::vector<std::string> paragraphs;
  std::vector<absl::string_view> lines;
  auto flush = [&] {
    if (!lines.empty()) paragraphs.push_back(absl::StrJoin(lines, " "));
    lines.clear();
  };
  for (absl::string_view line : absl::StrSplit(comment, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) {
      flush();
    } else {
      lines.push_back(line);
    }
  }
  flush();
  return absl::StrJoin(paragraphs, "\n\n");
}

// "RecordKind" -> "Record kind".
std::string Title(absl::string_view camel_case) {
  std::string title;
  for (char c : camel_case) {
    if (absl::ascii_isupper(c) && !title.empty()) {
      title.push_back(' ');
      title.push_back(absl::ascii_tolower(c));
    } else {
      title.push_back(c);
    }
  }
  return title;
}

// The anchor a Markdown renderer gives a heading of plain words.
std::string Anchor(absl::string_view heading) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(heading), {{" ", "-"}});
}

// Table cells hold one line, and a pipe would end the cell.
std::string Cell(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"|", "\\|"}, {"\n", " "}});
}

// A message's name relative to its file's package: "CooperationRecord".
std::string LocalName(const Descriptor& message) {
  absl::string_view name = message.full_name();
  const std::string& package = message.file()->package();
  if (!package.empty()) absl::ConsumePrefix(&name, package + ".");
  return std::string(name);
}

void CollectFields(const Descriptor& message, const EnumDescriptor& enum_type,
                   std::vector<std::string>& fields) {
  for (int i = 0; i < message.field_count(); ++i) {
    const auto* field = message.field(i);
    if (field->enum_type() != &enum_type) continue;
    fields.push_back(absl::StrCat(LocalName(message), ".", field->name()));
  }
  for (int i = 0; i < message.nested_type_count(); ++i) {
    CollectFields(*message.nested_type(i), enum_type, fields);
  }
}

bool IsUnspecified(const google::protobuf::EnumValueDescriptor& value) {
  return value.number() == 0 && absl::EndsWith(value.name(), "_UNSPECIFIED");
}

}  // namespace

SplitComment SplitCodeComment(std::string_view comment) {
  std::vector<absl::string_view> definition;
  std::vector<absl::string_view> example;
  bool in_example = false;
  for (absl::string_view line : absl::StrSplit(ToAbsl(comment), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!in_example && absl::ConsumePrefix(&line, kExamplePrefix)) {
      in_example = true;
      line = absl::StripLeadingAsciiWhitespace(line);
    }
    if (line.empty()) continue;
    (in_example ? example : definition).push_back(line);
  }
  return SplitComment{absl::StrJoin(definition, " "),
                      absl::StrJoin(example, " ")};
}

absl::StatusOr<std::vector<EnumEntry>> ReadEnums(
    const FileDescriptorSet& descriptor_set, const std::string& file_name) {
  const google::protobuf::FileDescriptorProto* file_proto = nullptr;
  google::protobuf::SimpleDescriptorDatabase database;
  for (const auto& file : descriptor_set.file()) {
    if (file.name() == file_name) file_proto = &file;
    if (!database.Add(file)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "descriptor set holds ", file.name(), " twice or with conflicts"));
    }
  }
  if (file_proto == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("descriptor set does not hold ", file_name));
  }
  if (!file_proto->has_source_code_info()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "descriptor set has no comments of ", file_name,
        "; build it with protoc --include_source_info --include_imports"));
  }

  PoolErrors errors;
  DescriptorPool pool(&database, &errors);
  const FileDescriptor* file = pool.FindFileByName(file_name);
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot build ", file_name,
                     " from the descriptor set: ", errors.Joined()));
  }

  std::vector<EnumEntry> enums;
  for (int i = 0; i < file->enum_type_count(); ++i) {
    const EnumDescriptor& enum_type = *file->enum_type(i);
    EnumEntry entry;
    entry.name = enum_type.name();
    entry.full_name = enum_type.full_name();
    SourceLocation location;
    if (enum_type.GetSourceLocation(&location)) {
      entry.description = JoinParagraphs(location.leading_comments);
    }
    for (int m = 0; m < file->message_type_count(); ++m) {
      CollectFields(*file->message_type(m), enum_type, entry.fields);
    }
    for (int v = 0; v < enum_type.value_count(); ++v) {
      const auto& value = *enum_type.value(v);
      if (IsUnspecified(value)) continue;
      CodeEntry code;
      code.name = value.name();
      code.number = value.number();
      SourceLocation value_location;
      if (value.GetSourceLocation(&value_location)) {
        SplitComment split = SplitCodeComment(value_location.leading_comments);
        code.definition = std::move(split.definition);
        code.example = std::move(split.example);
      }
      entry.codes.push_back(std::move(code));
    }
    enums.push_back(std::move(entry));
  }
  return enums;
}

absl::StatusOr<TagVocabulary> ParseTagVocabulary(const std::string& text,
                                                 const std::string& name) {
  TagVocabulary vocabulary;
  FirstTextError error;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&error);
  if (!parser.ParseFromString(text, &vocabulary)) {
    return absl::InvalidArgumentError(error.Describe(name));
  }
  return vocabulary;
}

bool IsLowerKebab(std::string_view tag) {
  if (tag.empty() || tag.front() == '-' || tag.back() == '-') return false;
  char previous = '\0';
  for (char c : tag) {
    bool allowed = absl::ascii_islower(c) || absl::ascii_isdigit(c) ||
                   (c == '-' && previous != '-');
    if (!allowed) return false;
    previous = c;
  }
  return true;
}

std::vector<std::string> FindGaps(const std::vector<EnumEntry>& enums,
                                  const TagVocabulary& vocabulary) {
  std::vector<std::string> gaps;
  for (const EnumEntry& entry : enums) {
    for (const CodeEntry& code : entry.codes) {
      if (code.definition.empty()) {
        gaps.push_back(absl::StrCat(entry.name, ".", code.name,
                                    " has no definition in its comment"));
      }
      if (code.example.empty()) {
        gaps.push_back(absl::StrCat(entry.name, ".", code.name,
                                    " has no line starting \"", kExamplePrefix,
                                    " \" in its comment"));
      }
    }
  }
  std::set<std::string> seen;
  for (const auto& tag : vocabulary.tags()) {
    if (!IsLowerKebab(tag.tag())) {
      gaps.push_back(
          absl::StrCat("tag \"", tag.tag(), "\" is not lower-kebab"));
    }
    if (!seen.insert(tag.tag()).second) {
      gaps.push_back(absl::StrCat("tag \"", tag.tag(), "\" is defined twice"));
    }
    if (tag.definition().empty()) {
      gaps.push_back(absl::StrCat("tag \"", tag.tag(), "\" has no definition"));
    }
    if (tag.example().empty()) {
      gaps.push_back(absl::StrCat("tag \"", tag.tag(), "\" has no example"));
    }
  }
  return gaps;
}

std::string RenderCodebook(const std::vector<EnumEntry>& enums,
                           const TagVocabulary& vocabulary,
                           std::string_view changelog, const Sources& sources) {
  std::string out;
  absl::StrAppend(
      &out,
      "# Codebook: the international dimension of trafficking in human "
      "beings\n\n",
      "> Generated from the enum comments of `", sources.proto, "`, from `",
      sources.tags, "` and from `", sources.changelog,
      "`. Do not edit this file: edit those, then regenerate it with "
      "`ninja codebook` in a build directory. A test fails while it is out "
      "of date.\n\n",
      "The codes of the suite's cooperation records (`thb.cooperation.v1`), "
      "defined in the words of the study they encode: European Migration "
      "Network (EMN), *Trafficking in human beings – the international "
      "dimension* (2025), as presented in the EMN press release of 16 July "
      "2025.\n\n");

  absl::StrAppend(&out, "## Contents\n\n",
                  "- [How to read this codebook](#how-to-read-this-codebook)"
                  "\n");
  for (const EnumEntry& entry : enums) {
    std::string title = Title(entry.name);
    absl::StrAppend(&out, "- [", title, "](#", Anchor(title), ")\n");
  }
  absl::StrAppend(&out, "- [Tags](#tags)\n", "- [Changelog](#changelog)\n\n");

  absl::StrAppend(
      &out, "## How to read this codebook\n\n",
      "A cooperation record is one statement of the study about one "
      "reporting country: a measure it has implemented, a good practice it "
      "identified, a challenge it reported, a strategy it is reviewing or "
      "establishing, or an agreement it is evaluating. Each section below "
      "defines the codes of one field of the record.\n\n",
      "- **Code** is the value's name as clients write it in JSON, in "
      "protobuf text format and in statistics queries; the binary protobuf "
      "encoding carries the **number**. Both are a public contract: a code "
      "is never renamed, renumbered or given another meaning. Definitions "
      "and examples name a code without its prefix (PREVENTION for "
      "`THEMATIC_AREA_PREVENTION`).\n",
      "- **Definition** says what the code means, in the study's words; "
      "passages in double quotes are quoted from the press release.\n",
      "- **Example** is a statement the code fits. An id in backquotes such "
      "as `fn15-at` is a record of the study dataset (`",
      sources.dataset,
      "`): footnote 15 of the press release, reporting country AT. An "
      "example without an id illustrates the code in the press release's "
      "words or, where the press release is silent, with a typical case.\n",
      "- A record carries exactly the codes of its own statement and "
      "nothing inferred, so that each figure of the study comes back "
      "unchanged.\n",
      "- Every enum also has the zero value `…_UNSPECIFIED`, which means "
      "\"not set\"; it is not a code and is not listed.\n",
      "- **Tags** are free lower-kebab strings for facets no enum covers; "
      "every tag a record carries is defined under [Tags](#tags).\n\n");

  for (const EnumEntry& entry : enums) {
    absl::StrAppend(&out, "## ", Title(entry.name), "\n\n`", entry.full_name,
                    "`");
    if (!entry.fields.empty()) {
      absl::StrAppend(&out,
                      entry.fields.size() == 1 ? ", field `" : ", fields `",
                      absl::StrJoin(entry.fields, "`, `"), "`");
    }
    absl::StrAppend(&out, ".\n\n");
    if (!entry.description.empty()) {
      absl::StrAppend(&out, entry.description, "\n\n");
    }
    absl::StrAppend(&out, "| Code | Number | Definition | Example |\n",
                    "|---|---:|---|---|\n");
    for (const CodeEntry& code : entry.codes) {
      absl::StrAppend(&out, "| `", code.name, "` | ", code.number, " | ",
                      Cell(code.definition), " | ", Cell(code.example), " |\n");
    }
    absl::StrAppend(&out, "\n");
  }

  absl::StrAppend(&out, "## Tags\n\n",
                  "Free lower-kebab strings in `CooperationRecord.tags`, "
                  "defined in `",
                  sources.tags, "`.\n\n", "| Tag | Definition | Example |\n",
                  "|---|---|---|\n");
  for (const auto& tag : vocabulary.tags()) {
    absl::StrAppend(&out, "| `", tag.tag(), "` | ", Cell(tag.definition()),
                    " | ", Cell(tag.example()), " |\n");
  }
  absl::StrAppend(&out, "\n## Changelog\n\n");

  absl::string_view log = ToAbsl(changelog);
  log = absl::StripTrailingAsciiWhitespace(log);
  absl::StrAppend(&out, log, "\n");
  return out;
}

}  // namespace thb::codebook
