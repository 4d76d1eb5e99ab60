// How a registry snapshot resolves codes: an exact code before an
// alias, whatever the registry sent.

#include "services/registry/client/registry_snapshot.h"

#include <string>

#include "gtest/gtest.h"

namespace thb::registry {
namespace {

v1::Change Created(const std::string& code, const std::string& alpha2,
                   int64_t revision) {
  v1::Change change;
  change.set_revision(revision);
  change.set_type(v1::CHANGE_TYPE_CREATED);
  change.mutable_country()->set_code(code);
  change.mutable_country()->set_iso_alpha2(alpha2);
  return change;
}

// A registry written before aliases were checked for conflicts can hold a
// newcomer whose alias is France's code; "FR" must still mean France.
TEST(RegistrySnapshotTest, ExactCodeWinsOverAConflictingAlias) {
  RegistrySnapshot snapshot;
  snapshot.Apply(Created("FR", "FR", 1));
  snapshot.Apply(Created("EL", "GR", 1));
  snapshot.Apply(Created("XA", "FR", 2));
  EXPECT_EQ(snapshot.CanonicalCountry("FR"), "FR");
  EXPECT_EQ(snapshot.CanonicalCountry("fr"), "FR");
  EXPECT_EQ(snapshot.CanonicalCountry("gr"), "EL");
  EXPECT_EQ(snapshot.CanonicalCountry("EL"), "EL");
  EXPECT_EQ(snapshot.CanonicalCountry("XA"), "XA");
  EXPECT_EQ(snapshot.CanonicalCountry("QQ"), std::nullopt);

  v1::Change deleted = Created("XA", "FR", 3);
  deleted.set_type(v1::CHANGE_TYPE_DELETED);
  snapshot.Apply(deleted);
  EXPECT_EQ(snapshot.CanonicalCountry("FR"), "FR");
  EXPECT_EQ(snapshot.CanonicalCountry("XA"), std::nullopt);
}

}  // namespace
}  // namespace thb::registry
