#ifndef THB_TOOLS_CODEBOOK_CODEBOOK_H_
#define THB_TOOLS_CODEBOOK_CODEBOOK_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.pb.h"
#include "thb/cooperation/v1/dataset.pb.h"

namespace thb::codebook {

// One code of an enum, as its proto comment defines it.
struct CodeEntry {
  std::string name;  // As on the wire in JSON and text format.
  int number = 0;
  std::string definition;
  std::string example;
};

// One enum of the codebook, in declaration order.
struct EnumEntry {
  std::string name;       // "RecordKind"
  std::string full_name;  // "thb.cooperation.v1.RecordKind"
  std::string description;
  // The fields of the same file that take the enum: "CooperationRecord.kind".
  std::vector<std::string> fields;
  // Without the zero `*_UNSPECIFIED` value, which means "not set".
  std::vector<CodeEntry> codes;
};

// A comment split by the codebook convention: the definition, then a line
// starting "Example: " and the example up to the end. Lines are joined with
// single spaces; either part may be empty.
struct SplitComment {
  std::string definition;
  std::string example;
};
SplitComment SplitCodeComment(std::string_view comment);

// The enums of `file_name` in `descriptor_set` (which must hold the file and
// its imports, with source info) with their comments. NOT_FOUND when the set
// does not hold the file; INVALID_ARGUMENT when it does not build or has no
// source info.
absl::StatusOr<std::vector<EnumEntry>> ReadEnums(
    const google::protobuf::FileDescriptorSet& descriptor_set,
    const std::string& file_name);

// Parses a tag vocabulary in protobuf text format; INVALID_ARGUMENT with
// line and column, `name` standing for the file.
absl::StatusOr<cooperation::v1::TagVocabulary> ParseTagVocabulary(
    const std::string& text, const std::string& name);

// Every way the enums and the vocabulary fall short of a codebook: a code
// without a definition or an example, a tag that is not lower-kebab, defined
// twice, or without a definition or an example. Empty when complete.
std::vector<std::string> FindGaps(
    const std::vector<EnumEntry>& enums,
    const cooperation::v1::TagVocabulary& vocabulary);

// Whether `tag` is lower-kebab: lower-case ASCII letters and digits in
// words joined by single hyphens ("covid-19").
bool IsLowerKebab(std::string_view tag);

// Repository paths the codebook names as its sources.
struct Sources {
  std::string proto = "proto/thb/cooperation/v1/cooperation.proto";
  std::string tags = "data/tags.txtpb";
  std::string changelog = "docs/CODEBOOK-CHANGELOG.md";
  std::string dataset = "data/study.txtpb";
};

// The codebook in Markdown: header, how to read it, one section per enum,
// the tags, and `changelog` verbatim. The same input gives the same bytes.
std::string RenderCodebook(const std::vector<EnumEntry>& enums,
                           const cooperation::v1::TagVocabulary& vocabulary,
                           std::string_view changelog,
                           const Sources& sources = Sources());

}  // namespace thb::codebook

#endif  // THB_TOOLS_CODEBOOK_CODEBOOK_H_
