// Writes the codebook, docs/CODEBOOK.md, from the comments of the
// cooperation enums, the tag vocabulary and the hand-written changelog:
//
//   thb-codebook --descriptor_set=cooperation.pb --tags=data/tags.txtpb
//       --changelog=docs/CODEBOOK-CHANGELOG.md > docs/CODEBOOK.md
//
// The descriptor set is protoc's --descriptor_set_out with
// --include_imports and --include_source_info; the build makes one.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.pb.h"
#include "tools/codebook/codebook.h"

ABSL_FLAG(std::string, descriptor_set, "",
          "FileDescriptorSet of the proto file and its imports, with source "
          "info (protoc --include_imports --include_source_info)");
ABSL_FLAG(std::string, file, "thb/cooperation/v1/cooperation.proto",
          "The proto file in the descriptor set whose enums are the codes");
ABSL_FLAG(std::string, tags, "",
          "Tag vocabulary, a thb.cooperation.v1.TagVocabulary in protobuf "
          "text format");
ABSL_FLAG(std::string, changelog, "",
          "Markdown appended verbatim under the Changelog heading");
ABSL_FLAG(std::string, out, "",
          "Where to write the codebook; empty: standard output");

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

absl::Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status Run() {
  const std::string descriptor_path = absl::GetFlag(FLAGS_descriptor_set);
  const std::string tags_path = absl::GetFlag(FLAGS_tags);
  const std::string changelog_path = absl::GetFlag(FLAGS_changelog);
  if (descriptor_path.empty() || tags_path.empty() || changelog_path.empty()) {
    return absl::InvalidArgumentError(
        "--descriptor_set, --tags and --changelog are required");
  }

  absl::StatusOr<std::string> descriptor_bytes = ReadFile(descriptor_path);
  if (!descriptor_bytes.ok()) return descriptor_bytes.status();
  google::protobuf::FileDescriptorSet descriptor_set;
  if (!descriptor_set.ParseFromString(*descriptor_bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(descriptor_path, " is not a FileDescriptorSet"));
  }
  absl::StatusOr<std::vector<thb::codebook::EnumEntry>> enums =
      thb::codebook::ReadEnums(descriptor_set, absl::GetFlag(FLAGS_file));
  if (!enums.ok()) return enums.status();

  absl::StatusOr<std::string> tags_text = ReadFile(tags_path);
  if (!tags_text.ok()) return tags_text.status();
  auto vocabulary = thb::codebook::ParseTagVocabulary(*tags_text, tags_path);
  if (!vocabulary.ok()) return vocabulary.status();

  absl::StatusOr<std::string> changelog = ReadFile(changelog_path);
  if (!changelog.ok()) return changelog.status();

  // A code without a definition is no codebook: refuse rather than publish
  // an empty cell.
  std::vector<std::string> gaps = thb::codebook::FindGaps(*enums, *vocabulary);
  if (!gaps.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the codebook is incomplete:\n  ", absl::StrJoin(gaps, "\n  ")));
  }

  thb::codebook::Sources sources;
  // Proto files live under proto/ in the repository.
  sources.proto = absl::StrCat("proto/", absl::GetFlag(FLAGS_file));
  std::string markdown =
      thb::codebook::RenderCodebook(*enums, *vocabulary, *changelog, sources);
  const std::string out_path = absl::GetFlag(FLAGS_out);
  if (out_path.empty()) {
    std::cout << markdown;
    std::cout.flush();
    if (!std::cout) return absl::InternalError("cannot write standard output");
    return absl::OkStatus();
  }
  return WriteFile(out_path, markdown);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Writes the codebook (Markdown) from the enum comments of a proto "
      "file, a tag vocabulary and a changelog.\n"
      "Usage: thb-codebook --descriptor_set=F --tags=data/tags.txtpb "
      "--changelog=docs/CODEBOOK-CHANGELOG.md [--out=docs/CODEBOOK.md]");
  absl::ParseCommandLine(argc, argv);
  if (absl::Status status = Run(); !status.ok()) {
    std::cerr << "thb-codebook: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
