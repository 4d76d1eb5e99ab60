// docker-compose.yml keeps the deployment rules: health checks,
// loopback-only ports, a stop grace period longer than the drain, no service
// without TLS, only the secrets a service mounts, and only environment
// variables that the binaries read.

#include "tests/integration/compose_file.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace thb {
namespace {

using ::thb::testing::BinaryOf;
using ::thb::testing::Contains;
using ::thb::testing::kImageShareDir;
using ::thb::testing::kSecretsDir;
using ::thb::testing::kSourceDir;
using ::thb::testing::LoadCompose;
using ::thb::testing::LoadSecrets;
using ::thb::testing::OfComponent;
using ::thb::testing::Process;
using ::thb::testing::ReadText;
using ::thb::testing::SecretMountsNamed;
using ::thb::testing::Service;
using ::thb::testing::ValuesOf;
using ::thb::testing::WaitForExit;

// A stop waits this long when a service sets no THB_DRAIN.
constexpr absl::Duration kDefaultDrain = absl::Seconds(2);

// The environment variables `binary` names in the "Environment:" section of
// its --help: the ones it reads.
std::set<std::string> BoundVariables(const std::string& binary) {
  auto process = Process::Start(binary, {"--help"});
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return {};
  WaitForExit(*process, absl::Seconds(30));
  std::set<std::string> variables;
  bool in_section = false;
  for (absl::string_view line : absl::StrSplit(process->Log(), '\n')) {
    if (line == "Environment:") {
      in_section = true;
      continue;
    }
    if (!in_section) continue;
    if (absl::StripAsciiWhitespace(line).empty()) break;
    const std::vector<absl::string_view> words =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    variables.insert(std::string(words.front()));
  }
  EXPECT_FALSE(variables.empty())
      << binary << " --help lists no Environment section:\n"
      << process->Log();
  return variables;
}

TEST(ComposeFileTest, EveryVariableIsOneTheBinaryReads) {
  const std::vector<Service> services = LoadCompose();
  ASSERT_FALSE(services.empty());
  std::map<std::string, std::set<std::string>> bound;
  for (const Service& service : services) {
    if (service.component.empty()) continue;
    const std::string binary = BinaryOf(service.component);
    ASSERT_FALSE(binary.empty())
        << service.name << ": no binary for deploy/docker/" << service.component
        << ".Dockerfile";
    if (bound.count(service.component) == 0) {
      bound[service.component] = BoundVariables(binary);
    }
    for (const auto& [variable, value] : service.environment) {
      EXPECT_EQ(bound[service.component].count(variable), 1u)
          << service.name << " sets " << variable << "=" << value << ", which "
          << service.component << " does not read";
    }
  }
  // The runtime stages of the Dockerfiles name variables too, in ENV and
  // HEALTHCHECK; the build stages' THB_ names are CMake options.
  for (const auto& [component, variables] : bound) {
    const std::string dockerfile =
        absl::StrCat(kSourceDir, "/deploy/docker/", component, ".Dockerfile");
    const std::string whole = ReadText(dockerfile);
    const size_t runtime = whole.rfind("\nFROM ");
    ASSERT_NE(runtime, std::string::npos) << dockerfile;
    const std::string text = whole.substr(runtime);
    for (size_t at = text.find("THB_"); at != std::string::npos;
         at = text.find("THB_", at + 1)) {
      size_t end = at;
      while (end < text.size() &&
             (absl::ascii_isupper(text[end]) ||
              absl::ascii_isdigit(text[end]) || text[end] == '_')) {
        ++end;
      }
      const std::string variable = text.substr(at, end - at);
      EXPECT_EQ(variables.count(variable), 1u)
          << dockerfile << " names " << variable << ", which " << component
          << " does not read";
      at = end;
    }
  }
}

TEST(ComposeFileTest, KeepsTheDeploymentRules) {
  const std::vector<Service> services = LoadCompose();
  ASSERT_FALSE(services.empty());
  std::set<std::string> with_healthcheck;
  for (const Service& service : services) {
    if (!service.healthcheck.empty()) with_healthcheck.insert(service.name);
  }
  for (const Service& service : services) {
    for (const Service::Port& port : service.ports) {
      EXPECT_EQ(port.host_ip, "127.0.0.1")
          << service.name << " publishes port " << port.host_port
          << " beyond loopback";
    }
    for (const auto& [dependency, condition] : service.depends_on) {
      EXPECT_TRUE(condition == "service_healthy" ||
                  condition == "service_completed_successfully")
          << service.name << " starts after " << dependency
          << " has only started (" << condition << ")";
      if (condition == "service_healthy") {
        EXPECT_EQ(with_healthcheck.count(dependency), 1u)
            << service.name << " waits for " << dependency
            << " to be healthy, which has no health check";
      }
    }
    if (service.is_job()) continue;
    EXPECT_FALSE(service.restart.empty())
        << service.name << " is not restarted after a failure";
    EXPECT_EQ(with_healthcheck.count(service.name), 1u)
        << service.name << " has no health check";
    if (service.component.empty()) continue;
    absl::Duration drain = kDefaultDrain;
    if (const auto it = service.environment.find("THB_DRAIN");
        it != service.environment.end()) {
      EXPECT_TRUE(absl::ParseDuration(it->second, &drain)) << it->second;
    }
    absl::Duration grace;
    EXPECT_TRUE(absl::ParseDuration(service.stop_grace_period, &grace))
        << service.name << ": stop_grace_period \"" << service.stop_grace_period
        << "\"";
    EXPECT_GT(grace, drain)
        << service.name << ": a stop kills the service while it drains";
  }

  // The test reads the files of the thbctl image from the repository, where
  // its Dockerfile copies them from.
  for (const Service* job : OfComponent(services, "thbctl")) {
    const std::string dockerfile =
        ReadText(absl::StrCat(kSourceDir, "/deploy/docker/thbctl.Dockerfile"));
    for (const std::string& arg : job->command) {
      absl::string_view in_repository = arg;
      if (!absl::ConsumePrefix(&in_repository, kImageShareDir)) continue;
      EXPECT_TRUE(absl::StrContains(
          dockerfile, absl::StrCat("COPY ", in_repository, " ", arg, "\n")))
          << job->name << " reads " << arg
          << ", which thbctl.Dockerfile does not copy from " << in_repository;
    }
  }

  const std::vector<const Service*> aggregators =
      OfComponent(services, "aggregator");
  ASSERT_GE(aggregators.size(), 2u) << "the aggregator runs as replicas";
  std::set<int> host_ports;
  for (const Service* aggregator : aggregators) {
    ASSERT_EQ(aggregator->ports.size(), 1u) << aggregator->name;
    EXPECT_TRUE(host_ports.insert(aggregator->ports[0].host_port).second)
        << aggregator->name << " publishes the host port of another replica";
  }
}

TEST(ComposeFileTest, ServesOnlyTlsAndMountsTheSecretsItReads) {
  const std::vector<Service> services = LoadCompose();
  const std::map<std::string, std::string> secrets = LoadSecrets();
  ASSERT_FALSE(services.empty());
  for (const Service& service : services) {
    EXPECT_EQ(service.environment.count("THB_INSECURE"), 0u)
        << service.name << " runs without TLS or authorization";
    for (const std::string& arg : service.command) {
      EXPECT_FALSE(arg == "--insecure" || absl::StartsWith(arg, "--insecure="))
          << service.name << " runs without TLS or authorization";
    }
    for (const std::string& mount : SecretMountsNamed(ValuesOf(service))) {
      EXPECT_EQ(service.secrets.count(mount), 1u)
          << service.name << " reads " << kSecretsDir << mount
          << ", which it does not mount";
    }
    for (const auto& [mount, secret] : service.secrets) {
      EXPECT_EQ(secrets.count(secret), 1u)
          << service.name << " mounts secret " << secret
          << ", which the file does not define";
    }
    // Only the health port may be asked in plaintext: it serves nothing
    // else, and is not published.
    const std::vector<std::string>& check = service.healthcheck;
    if (!Contains(check, "--insecure")) continue;
    EXPECT_GT(service.health_port(), 0)
        << service.name << " asks a plaintext port it does not set";
    EXPECT_NE(service.health_port(), service.container_port())
        << service.name << " serves health on its main port";
    EXPECT_TRUE(
        Contains(check, absl::StrCat("127.0.0.1:", service.health_port())))
        << service.name << "'s plaintext health check asks another port than "
        << "its health port " << service.health_port() << ": "
        << absl::StrJoin(check, " ");
    for (const Service::Port& port : service.ports) {
      EXPECT_NE(port.container_port, service.health_port())
          << service.name << " publishes its health port";
    }
  }
}

// The compose topology as local processes.

}  // namespace
}  // namespace thb
