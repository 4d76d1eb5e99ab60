#include "common/update_mask.h"

#include <set>
#include <string>

#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "thb/registry/v1/registry.pb.h"

namespace thb {
namespace {

using ::google::protobuf::FieldMask;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

const std::set<std::string> kWritable = {"name", "description", "country_codes",
                                         "definition_source"};

FieldMask MaskOf(std::initializer_list<const char*> paths) {
  FieldMask mask;
  for (const char* path : paths) mask.add_paths(path);
  return mask;
}

TEST(EffectiveUpdateMaskTest, AnEmptyMaskMeansEveryWritableField) {
  auto mask = EffectiveUpdateMask(FieldMask(), kWritable, "region");
  ASSERT_TRUE(mask.ok()) << mask.status();
  EXPECT_THAT(mask->paths(), ElementsAre("country_codes", "definition_source",
                                         "description", "name"));
}

TEST(EffectiveUpdateMaskTest, WritablePathsAreKeptInTheRequestedOrder) {
  auto mask =
      EffectiveUpdateMask(MaskOf({"name", "country_codes"}), kWritable, "x");
  ASSERT_TRUE(mask.ok()) << mask.status();
  EXPECT_THAT(mask->paths(), ElementsAre("name", "country_codes"));
}

TEST(EffectiveUpdateMaskTest, APathThatIsNotWritableIsRefusedByIndex) {
  auto mask =
      EffectiveUpdateMask(MaskOf({"name", "etag"}), kWritable, "a region");
  ASSERT_EQ(mask.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      FieldViolations(mask.status()),
      ElementsAre(Field(&FieldViolation::field, "update_mask.paths[1]")));
  EXPECT_EQ(mask.status().message(),
            "update_mask.paths[1]: \"etag\" is not a writable field of a "
            "region; writable: country_codes, definition_source, "
            "description, name");
}

TEST(EffectiveUpdateMaskTest, ANestedPathIsNotAWritableField) {
  auto mask = EffectiveUpdateMask(MaskOf({"definition_source.url"}), kWritable,
                                  "region");
  EXPECT_EQ(mask.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mask.status().message(),
              HasSubstr("\"definition_source.url\" is not a writable field"));
}

registry::v1::Region Stored() {
  registry::v1::Region region;
  region.set_id("SAHEL");
  region.set_name("Sahel");
  region.set_description("West Africa");
  region.add_country_codes("ML");
  region.add_country_codes("NE");
  region.mutable_definition_source()->set_citation("Old atlas");
  region.mutable_definition_source()->set_footnote(3);
  region.set_etag("0123456789abcdef");
  return region;
}

TEST(ApplyUpdateMaskTest, CopiesOnlyTheMaskedFields) {
  registry::v1::Region update;
  update.set_id("OTHER");
  update.set_name("New name");
  update.set_description("not in the mask");
  registry::v1::Region region = Stored();
  ApplyUpdateMask(update, MaskOf({"name"}), &region);
  EXPECT_EQ(region.name(), "New name");
  EXPECT_EQ(region.id(), "SAHEL");
  EXPECT_EQ(region.description(), "West Africa");
  EXPECT_EQ(region.etag(), "0123456789abcdef");
}

TEST(ApplyUpdateMaskTest, AMaskedFieldLeftEmptyIsCleared) {
  registry::v1::Region region = Stored();
  ApplyUpdateMask(registry::v1::Region(), MaskOf({"description"}), &region);
  EXPECT_EQ(region.description(), "");
  EXPECT_EQ(region.name(), "Sahel");
}

TEST(ApplyUpdateMaskTest, ARepeatedFieldIsReplacedNotAppended) {
  registry::v1::Region update;
  update.add_country_codes("TD");
  registry::v1::Region region = Stored();
  ApplyUpdateMask(update, MaskOf({"country_codes"}), &region);
  EXPECT_THAT(region.country_codes(), ElementsAre("TD"));
}

TEST(ApplyUpdateMaskTest, AMessageFieldIsReplacedNotMerged) {
  registry::v1::Region update;
  update.mutable_definition_source()->set_url("https://example.org/atlas");
  registry::v1::Region region = Stored();
  ApplyUpdateMask(update, MaskOf({"definition_source"}), &region);
  EXPECT_EQ(region.definition_source().url(), "https://example.org/atlas");
  EXPECT_EQ(region.definition_source().citation(), "");
  EXPECT_EQ(region.definition_source().footnote(), 0);
}

}  // namespace
}  // namespace thb
