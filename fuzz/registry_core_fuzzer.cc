// Whole CountryRegistryService writes on the registry core over a copy of a
// freshly seeded SQLite store: the first byte picks the RPC, the rest is the
// binary protobuf of its request. Every call answers or fails cleanly, and
// registry validation is idempotent: writing back a resource exactly as a
// write returned it (every writable field, its etag) is accepted and
// changes nothing.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "fuzz/fuzz_support.h"
#include "services/registry/reference_data.h"
#include "services/registry/registry_core.h"
#include "services/registry/sqlite_registry_store.h"

namespace {

namespace v1 = thb::registry::v1;
using thb::registry::RegistryCore;

const thb::registry::ReferenceData& Reference() {
  static const auto* reference = [] {
    auto data =
        thb::registry::LoadReferenceData(thb::registry::kDefaultIsoCodesPath);
    if (!data.ok()) thb::fuzz::Fail("reference", data.status().ToString());
    return new thb::registry::ReferenceData(*std::move(data));
  }();
  return *reference;
}

std::unique_ptr<RegistryCore> Open(const std::string& path) {
  auto store = thb::registry::SqliteRegistryStore::Open(path);
  if (!store.ok()) thb::fuzz::Fail("store", store.status().ToString());
  auto core = RegistryCore::Open(std::move(*store), Reference());
  if (!core.ok()) thb::fuzz::Fail("core", core.status().ToString());
  return *std::move(core);
}

// A seeded store, made once: seeding every country for each input would
// cost more than the input.
const std::string& SeededStore() {
  static const auto* dir = new thb::fuzz::ScratchDir();
  static const std::string* path = [] {
    auto* path = new std::string(dir->path() + "/seeded.sqlite3");
    Open(*path).reset();  // closing checkpoints the WAL into the file
    return path;
  }();
  return *path;
}

template <typename Request>
bool Parse(std::string_view bytes, Request& request) {
  return request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [rpc, bytes] = thb::fuzz::Selector(data, size);
  thb::fuzz::ScratchDir dir;
  const std::string path = dir.path() + "/r.sqlite3";
  std::filesystem::copy_file(SeededStore(), path);
  std::unique_ptr<RegistryCore> core = Open(path);
  const thb::audit::Invocation call = thb::fuzz::FuzzCaller();

  // Each successful write is written back whole and must come out the same.
  auto same = [](google::protobuf::Message& once,
                 google::protobuf::Message& twice, const std::string& what) {
    thb::fuzz::ClearServerFields(once);
    thb::fuzz::ClearServerFields(twice);
    std::string difference;
    THB_FUZZ_CHECK(thb::fuzz::SameMessage(once, twice, &difference),
                   difference + "\n" + what);
  };
  auto country_fixed_point = [&](const v1::Country& written) {
    v1::UpdateCountryRequest request;
    *request.mutable_country() = written;
    auto again = core->UpdateCountry(request, call);
    THB_FUZZ_CHECK(again.ok(),
                   again.status().ToString() + "\n" + written.DebugString());
    v1::Country once = written;
    v1::Country twice = again->country();
    same(once, twice, written.DebugString());
  };
  auto region_fixed_point = [&](const v1::Region& written) {
    v1::UpdateRegionRequest request;
    *request.mutable_region() = written;
    auto again = core->UpdateRegion(request, call);
    THB_FUZZ_CHECK(again.ok(),
                   again.status().ToString() + "\n" + written.DebugString());
    v1::Region once = written;
    v1::Region twice = again->region();
    same(once, twice, written.DebugString());
  };
  auto organisation_fixed_point = [&](const v1::Organisation& written) {
    v1::UpdateOrganisationRequest request;
    *request.mutable_organisation() = written;
    auto again = core->UpdateOrganisation(request, call);
    THB_FUZZ_CHECK(again.ok(),
                   again.status().ToString() + "\n" + written.DebugString());
    v1::Organisation once = written;
    v1::Organisation twice = again->organisation();
    same(once, twice, written.DebugString());
  };

  switch (rpc % 8) {
    case 0: {
      v1::CreateCountryRequest request;
      if (!Parse(bytes, request)) break;
      auto response = core->CreateCountry(request, call);
      if (response.ok()) country_fixed_point(response->country());
      break;
    }
    case 1: {
      v1::UpdateCountryRequest request;
      if (!Parse(bytes, request)) break;
      auto response = core->UpdateCountry(request, call);
      if (response.ok()) country_fixed_point(response->country());
      break;
    }
    case 2: {
      v1::CreateRegionRequest request;
      if (!Parse(bytes, request)) break;
      auto response = core->CreateRegion(request, call);
      if (response.ok()) region_fixed_point(response->region());
      break;
    }
    case 3: {
      v1::UpdateRegionRequest request;
      if (!Parse(bytes, request)) break;
      auto response = core->UpdateRegion(request, call);
      if (response.ok()) region_fixed_point(response->region());
      break;
    }
    case 4: {
      v1::CreateOrganisationRequest request;
      if (!Parse(bytes, request)) break;
      auto response = core->CreateOrganisation(request, call);
      if (response.ok()) organisation_fixed_point(response->organisation());
      break;
    }
    case 5: {
      v1::UpdateOrganisationRequest request;
      if (!Parse(bytes, request)) break;
      auto response = core->UpdateOrganisation(request, call);
      if (response.ok()) organisation_fixed_point(response->organisation());
      break;
    }
    case 6: {
      v1::DeleteCountryRequest request;
      if (!Parse(bytes, request)) break;
      (void)core->DeleteCountry(request, call);
      break;
    }
    default: {
      v1::ListCountriesRequest request;
      if (!Parse(bytes, request)) break;
      (void)core->ListCountries(request);
      break;
    }
  }
  return 0;
}
