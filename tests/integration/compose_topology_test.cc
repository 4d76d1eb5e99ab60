// docker-compose.yml as local processes: every service of the file runs as
// its binary with the environment and command the file gives it, only the
// addresses, ports (the health ports too) and paths rewritten: to loopback,
// to a temporary directory for volumes, and for the secrets it mounts at
// /run/secrets/NAME to local stand-ins (the test PKI's certificates and
// keys, the repository's authorization policy, and a Redis password and
// cache HMAC key the test writes). Redis asks that password; the registry,
// the cooperation service and each aggregator replica come up healthy by
// the file's own health checks on their plaintext health ports, the import
// job imports the study as the editor, every main port refuses plaintext,
// and every replica answers the study's figures to the reader. The file
// also keeps the deployment rules: health checks, loopback-only ports, a
// stop grace period longer than the drain, no service without TLS, only
// the secrets a service mounts, and only environment variables that the
// binaries read.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/channel.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"
#include "yaml-cpp/yaml.h"

namespace thb {
namespace {

using ::thb::testing::Process;
namespace coop = ::thb::cooperation::v1;
namespace stats = ::thb::stats::v1;

constexpr char kSourceDir[] = THB_SOURCE_DIR;
constexpr absl::Duration kHealthyWithin = absl::Seconds(60);
constexpr absl::Duration kJobWithin = absl::Seconds(120);
constexpr absl::Duration kCallWithin = absl::Seconds(30);
// The thbctl image's copy of the repository's files: data/study.txtpb is
// /usr/share/thb/data/study.txtpb there.
constexpr char kImageShareDir[] = "/usr/share/thb/";
// A stop waits this long when a service sets no THB_DRAIN.
constexpr absl::Duration kDefaultDrain = absl::Seconds(2);
// Where compose mounts a service's secrets.
constexpr char kSecretsDir[] = "/run/secrets/";
// Secret files under these directories (relative to the compose file) are
// the quick start's development PKI, and what scripts/deploy-secrets.sh
// writes; the test stands in its own for both.
constexpr char kPkiFiles[] = ".thb/tls/";
constexpr char kMadeFiles[] = ".thb/";
// The size of a secret the test makes, as deploy-secrets.sh makes them.
constexpr int kSecretBytes = 32;

// What the test reads of one service of the compose file.
struct Service {
  std::string name;
  // The stem of its Dockerfile (deploy/docker/<component>.Dockerfile), which
  // names the binary; empty for a service that runs a public image.
  std::string component;
  std::string image;
  std::map<std::string, std::string> environment;
  std::vector<std::string> command;
  // The health check's command, from the ["CMD", ...] form.
  std::vector<std::string> healthcheck;
  // "127.0.0.1:50054:50053" as {"127.0.0.1", 50054, 50053}.
  struct Port {
    std::string host_ip;
    int host_port = 0;
    int container_port = 0;
  };
  std::vector<Port> ports;
  // "registry-data:/var/lib/thb" as {"registry-data", "/var/lib/thb"}.
  std::vector<std::pair<std::string, std::string>> volumes;
  // The compose secrets it mounts: the name under /run/secrets/ to the
  // secret's key in the file's top-level `secrets:`.
  std::map<std::string, std::string> secrets;
  // Service name to condition (service_started when the file names none).
  std::map<std::string, std::string> depends_on;
  std::string restart;
  std::string stop_grace_period;

  bool is_job() const { return restart == "no"; }
  int container_port() const {
    return ports.empty() ? 0 : ports.front().container_port;
  }
  // The port of THB_<SVC>_HEALTH_PORT, or 0 when it sets none.
  int health_port() const {
    for (const auto& [variable, value] : environment) {
      int port = 0;
      if (absl::StartsWith(variable, "THB_") &&
          absl::EndsWith(variable, "_HEALTH_PORT") &&
          absl::SimpleAtoi(value, &port)) {
        return port;
      }
    }
    return 0;
  }
};

std::string BinaryOf(const std::string& component) {
  static const auto* const binaries = new std::map<std::string, std::string>{
      {"registry", THB_REGISTRY_BIN},
      {"cooperation", THB_COOPERATION_BIN},
      {"aggregator", THB_AGGREGATOR_BIN},
      {"thbctl", THBCTL_BIN}};
  const auto it = binaries->find(component);
  return it == binaries->end() ? "" : it->second;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

// `mapping[key]`, or a null node when there is no such key (yaml-cpp throws
// on any question to an absent key's node but whether it is defined).
YAML::Node Child(const YAML::Node& mapping, const std::string& key) {
  if (!mapping.IsMap()) return YAML::Node();
  const YAML::Node child = mapping[key];
  return child.IsDefined() ? child : YAML::Node();
}

// The scalar `mapping[key]`, or "" when there is none.
std::string Text(const YAML::Node& mapping, const std::string& key) {
  const YAML::Node child = Child(mapping, key);
  return child.IsScalar() ? child.as<std::string>() : "";
}

// The mapping with its YAML merge keys ("<<: *anchor") applied: keys written
// beside the merge win over the merged ones. yaml-cpp reads "<<" as an
// ordinary key.
YAML::Node Merged(const YAML::Node& mapping) {
  if (!mapping.IsMap()) return mapping;
  YAML::Node result(YAML::NodeType::Map);
  std::set<std::string> keys;
  for (const auto& entry : mapping) {
    const std::string key = entry.first.as<std::string>();
    if (key == "<<") continue;
    result[key] = entry.second;
    keys.insert(key);
  }
  const YAML::Node merge = Child(mapping, "<<");
  std::vector<YAML::Node> sources;
  if (merge.IsMap()) sources.push_back(merge);
  if (merge.IsSequence()) {
    for (const auto& source : merge) sources.push_back(source);
  }
  for (const YAML::Node& source : sources) {
    for (const auto& entry : Merged(source)) {
      const std::string key = entry.first.as<std::string>();
      if (keys.insert(key).second) result[key] = entry.second;
    }
  }
  return result;
}

std::vector<std::string> Strings(const YAML::Node& node) {
  std::vector<std::string> values;
  if (node.IsScalar()) values.push_back(node.as<std::string>());
  if (node.IsSequence()) {
    for (const auto& value : node) values.push_back(value.as<std::string>());
  }
  return values;
}

Service ReadService(const std::string& name, const YAML::Node& raw) {
  const YAML::Node node = Merged(raw);
  Service service;
  service.name = name;
  service.image = Text(node, "image");
  if (const std::string dockerfile = Text(Child(node, "build"), "dockerfile");
      !dockerfile.empty()) {
    const std::string file =
        std::filesystem::path(dockerfile).filename().string();
    absl::string_view stem = file;
    if (absl::ConsumeSuffix(&stem, ".Dockerfile")) {
      service.component = std::string(stem);
    }
  }
  if (const YAML::Node env = Child(node, "environment"); env.IsMap()) {
    for (const auto& entry : env) {
      service.environment[entry.first.as<std::string>()] =
          entry.second.IsNull() ? "" : entry.second.as<std::string>();
    }
  } else if (env.IsSequence()) {
    for (const auto& item : env) {
      std::pair<std::string, std::string> entry =
          absl::StrSplit(item.as<std::string>(), absl::MaxSplits('=', 1));
      service.environment[entry.first] = entry.second;
    }
  }
  service.command = Strings(Child(node, "command"));
  if (const std::vector<std::string> test =
          Strings(Child(Child(node, "healthcheck"), "test"));
      !test.empty()) {
    EXPECT_EQ(test.front(), "CMD")
        << name << ": the test reads health checks in the [\"CMD\", ...] form";
    if (test.front() == "CMD") {
      service.healthcheck.assign(test.begin() + 1, test.end());
    }
  }
  for (const std::string& port : Strings(Child(node, "ports"))) {
    const std::vector<std::string> parts = absl::StrSplit(port, ':');
    Service::Port parsed;
    if (parts.size() == 3) parsed.host_ip = parts[0];
    const bool ok =
        parts.size() >= 2 &&
        absl::SimpleAtoi(parts[parts.size() - 2], &parsed.host_port) &&
        absl::SimpleAtoi(absl::StripSuffix(parts.back(), "/tcp"),
                         &parsed.container_port);
    EXPECT_TRUE(ok) << name << ": cannot read port " << port;
    service.ports.push_back(parsed);
  }
  for (const std::string& volume : Strings(Child(node, "volumes"))) {
    const std::vector<std::string> parts = absl::StrSplit(volume, ':');
    EXPECT_GE(parts.size(), 2u) << name << ": cannot read volume " << volume;
    if (parts.size() >= 2) service.volumes.emplace_back(parts[0], parts[1]);
  }
  if (const YAML::Node depends = Child(node, "depends_on"); depends.IsMap()) {
    for (const auto& entry : depends) {
      const std::string condition = Text(entry.second, "condition");
      service.depends_on[entry.first.as<std::string>()] =
          condition.empty() ? "service_started" : condition;
    }
  } else {
    for (const std::string& dependency : Strings(depends)) {
      service.depends_on[dependency] = "service_started";
    }
  }
  if (const YAML::Node secrets = Child(node, "secrets"); secrets.IsSequence()) {
    for (const auto& secret : secrets) {
      if (secret.IsScalar()) {
        service.secrets[secret.as<std::string>()] = secret.as<std::string>();
        continue;
      }
      // The long form: {source: NAME, target: MOUNT}, MOUNT NAME if unsaid.
      const std::string source = Text(secret, "source");
      const std::string target = Text(secret, "target");
      EXPECT_FALSE(source.empty()) << name << ": a secret without a source";
      service.secrets[target.empty() ? source : target] = source;
    }
  }
  service.restart = Text(node, "restart");
  service.stop_grace_period = Text(node, "stop_grace_period");
  return service;
}

// docker-compose.yml, parsed; a null node (and a failure) when it cannot be.
YAML::Node LoadRoot() {
  const std::string path = absl::StrCat(kSourceDir, "/docker-compose.yml");
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::Exception& error) {
    ADD_FAILURE() << path << ": " << error.what();
    return YAML::Node();
  }
}

// The services of the compose file, in the order of the file.
std::vector<Service> LoadCompose() {
  std::vector<Service> services;
  const YAML::Node root = LoadRoot();
  for (const auto& entry : Child(root, "services")) {
    services.push_back(
        ReadService(entry.first.as<std::string>(), entry.second));
  }
  return services;
}

// The mounts under /run/secrets/ that `values` name, also inside a longer
// value (a shell script).
std::set<std::string> SecretMountsNamed(
    const std::vector<std::string>& values) {
  std::set<std::string> mounts;
  for (const std::string& value : values) {
    for (size_t at = value.find(kSecretsDir); at != std::string::npos;
         at = value.find(kSecretsDir, at + 1)) {
      size_t end = at + std::string(kSecretsDir).size();
      const size_t begin = end;
      while (end < value.size() &&
             (absl::ascii_isalnum(value[end]) || value[end] == '.' ||
              value[end] == '-' || value[end] == '_')) {
        ++end;
      }
      mounts.insert(value.substr(begin, end - begin));
    }
  }
  return mounts;
}

// What a service hands to its process: the values of its environment and
// its command.
std::vector<std::string> ValuesOf(const Service& service) {
  std::vector<std::string> values = service.command;
  for (const auto& [variable, value] : service.environment) {
    values.push_back(value);
  }
  return values;
}

bool Contains(const std::vector<std::string>& values,
              const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// `bytes` random bytes as hex digits.
std::string RandomHex(int bytes) {
  std::ifstream random("/dev/urandom", std::ios::binary);
  std::string raw(bytes, '\0');
  random.read(raw.data(), bytes);
  EXPECT_TRUE(random.good()) << "cannot read /dev/urandom";
  return absl::BytesToHexString(raw);
}

// The file's top-level secrets: each key to its `file:`, relative to the
// compose file.
std::map<std::string, std::string> LoadSecrets() {
  std::map<std::string, std::string> secrets;
  for (const auto& entry : Child(LoadRoot(), "secrets")) {
    const std::string name = entry.first.as<std::string>();
    const std::string file = Text(entry.second, "file");
    EXPECT_FALSE(file.empty())
        << "secret " << name << " is not a file (the test knows no other)";
    secrets[name] = file;
  }
  return secrets;
}

// The services in an order that starts each after those it depends on.
std::vector<const Service*> StartOrder(const std::vector<Service>& services) {
  std::map<std::string, const Service*> by_name;
  for (const Service& service : services) by_name[service.name] = &service;
  std::vector<const Service*> order;
  std::set<std::string> placed;
  std::set<std::string> visiting;
  std::function<void(const Service&)> place = [&](const Service& service) {
    if (placed.count(service.name) > 0) return;
    if (!visiting.insert(service.name).second) {
      ADD_FAILURE() << "depends_on cycle through " << service.name;
      return;
    }
    for (const auto& [dependency, condition] : service.depends_on) {
      const auto it = by_name.find(dependency);
      if (it == by_name.end()) {
        ADD_FAILURE() << service.name << " depends on unknown " << dependency;
        continue;
      }
      place(*it->second);
    }
    placed.insert(service.name);
    order.push_back(&service);
  };
  for (const Service& service : services) place(service);
  return order;
}

std::vector<const Service*> OfComponent(const std::vector<Service>& services,
                                        const std::string& component) {
  std::vector<const Service*> found;
  for (const Service& service : services) {
    if (service.component == component) found.push_back(&service);
  }
  return found;
}

// Waits for a process that ends by itself; its exit code, or -1 once
// `timeout` is over (it is then killed).
int WaitForExit(Process& process, absl::Duration timeout) {
  // Signal 0 delivers nothing: this only waits for the exit.
  const absl::StatusOr<int> code = process.Signal(0, timeout);
  if (!code.ok()) {
    process.Kill();
    return -1;
  }
  return *code;
}

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

// A loopback port nothing listens on now. Another process could take it
// before the server the test starts binds it, but the kernel spreads its
// picks for port 0 over the whole ephemeral range, so that is unlikely.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
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
class ComposeTopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("compose");
    services_ = LoadCompose();
    ASSERT_FALSE(services_.empty());
    ASSERT_NO_FATAL_FAILURE(StandInSecrets());
  }

  // A local file for each secret of the file: the test PKI's file of the
  // same name for a certificate or key, one the test writes for a secret
  // that deploy-secrets.sh would write, and the repository's file for the
  // rest (the authorization policy).
  void StandInSecrets() {
    const std::filesystem::path pki =
        std::filesystem::path(thb::testing::TestPki::Get().ca()).parent_path();
    const std::string made = absl::StrCat(dir_, "/secrets");
    std::filesystem::create_directories(made);
    for (const auto& [name, file] : LoadSecrets()) {
      std::string path;
      if (absl::StartsWith(file, kPkiFiles)) {
        path = (pki / std::filesystem::path(file).filename()).string();
      } else if (absl::StartsWith(file, kMadeFiles)) {
        path = absl::StrCat(made, "/", name);
        std::ofstream(path) << RandomHex(kSecretBytes);
      } else {
        path = absl::StrCat(kSourceDir, "/", file);
      }
      ASSERT_TRUE(std::filesystem::is_regular_file(path))
          << "secret " << name << " (" << file << "): no " << path;
      secret_paths_[name] = path;
    }
  }

  // Starts every service of the file in dependency order: long-running ones
  // until their health check passes, jobs until they exit.
  void StartAll() {
    for (const Service* service : StartOrder(services_)) {
      for (const auto& [dependency, condition] : service->depends_on) {
        const std::set<std::string>& reached =
            condition == "service_completed_successfully" ? completed_
                                                          : healthy_;
        ASSERT_EQ(reached.count(dependency), 1u)
            << service->name << " needs " << dependency << " " << condition;
      }
      if (service->component.empty()) {
        ASSERT_NO_FATAL_FAILURE(StartImage(*service));
      } else if (service->is_job()) {
        ASSERT_NO_FATAL_FAILURE(RunJob(*service));
      } else {
        ASSERT_NO_FATAL_FAILURE(StartServer(*service));
      }
    }
  }

  // Of the public images only Redis is known: a real redis-server.
  void StartImage(const Service& service) {
    ASSERT_TRUE(absl::StartsWith(service.image, "redis:"))
        << service.name << ": no local stand-in for image " << service.image;
    // Its command sets the password of the one secret it reads.
    const std::set<std::string> mounts = SecretMountsNamed(service.command);
    ASSERT_EQ(mounts.size(), 1u)
        << service.name << " reads no password, or more than one";
    ASSERT_TRUE(
        absl::StrContains(absl::StrJoin(service.command, " "), "requirepass"))
        << service.name << " asks no password";
    thb::testing::RedisServerOptions options;
    options.password = ReadText(SecretPath(service, *mounts.begin()));
    ASSERT_FALSE(options.password.empty());
    auto redis = thb::testing::RedisServer::Start(options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    addresses_[service.name] = redis_->address();
    healthy_.insert(service.name);
  }

  void StartServer(const Service& service) {
    ASSERT_EQ(service.ports.size(), 1u)
        << service.name << " publishes one port, its gRPC port";
    const int port = FreePort();
    ASSERT_GT(port, 0);
    local_ports_[service.name] = port;
    addresses_[service.name] = absl::StrCat("127.0.0.1:", port);
    ASSERT_GT(service.health_port(), 0)
        << service.name << " sets no THB_<SERVICE>_HEALTH_PORT: its health "
        << "port would be the default, which the test cannot move";
    const int health_port = FreePort();
    ASSERT_GT(health_port, 0);
    local_health_ports_[service.name] = health_port;
    for (const auto& [volume, target] : service.volumes) {
      std::filesystem::create_directories(VolumeDir(volume));
    }
    auto started = Process::Start(BinaryOf(service.component),
                                  Rewrite(service, service.command),
                                  RewriteEnvironment(service));
    ASSERT_TRUE(started.ok()) << started.status();
    servers_[service.name] = std::make_unique<Process>(std::move(*started));
    ASSERT_NO_FATAL_FAILURE(WaitHealthy(service));
    for (const auto& [volume, target] : service.volumes) {
      EXPECT_FALSE(std::filesystem::is_empty(VolumeDir(volume)))
          << service.name << " keeps nothing in its volume " << volume << " ("
          << target << ")";
    }
    healthy_.insert(service.name);
  }

  // Runs the service's health check until it passes.
  void WaitHealthy(const Service& service) {
    Process& server = *servers_[service.name];
    ASSERT_FALSE(service.healthcheck.empty())
        << service.name << " has no health check";
    ASSERT_EQ(service.healthcheck.front(), "grpc-call")
        << service.name << ": the services' health checks use grpc-call";
    const std::vector<std::string> args = Rewrite(
        service, std::vector<std::string>(service.healthcheck.begin() + 1,
                                          service.healthcheck.end()));
    ASSERT_TRUE(Contains(args, HealthAddress(service)))
        << service.name << "'s health check does not ask its health port: "
        << absl::StrJoin(args, " ");
    const absl::Time deadline = absl::Now() + kHealthyWithin;
    std::string last;
    while (absl::Now() < deadline) {
      ASSERT_TRUE(server.running()) << service.name << " exited:\n"
                                    << server.Log();
      auto check = Process::Start(GRPC_CALL_BIN, args);
      ASSERT_TRUE(check.ok()) << check.status();
      if (WaitForExit(*check, absl::Seconds(10)) == 0) return;
      last = check->Log();
      absl::SleepFor(absl::Milliseconds(200));
    }
    FAIL() << service.name << " not healthy within "
           << absl::FormatDuration(kHealthyWithin) << ": grpc-call "
           << absl::StrJoin(args, " ") << ":\n"
           << last << "\n--- " << service.name << ":\n"
           << server.Log();
  }

  void RunJob(const Service& service) {
    auto job = Process::Start(BinaryOf(service.component),
                              Rewrite(service, service.command),
                              RewriteEnvironment(service));
    ASSERT_TRUE(job.ok()) << job.status();
    ASSERT_EQ(WaitForExit(*job, kJobWithin), 0)
        << service.name << " failed: " << absl::StrJoin(service.command, " ")
        << "\n"
        << job->Log();
    completed_.insert(service.name);
  }

  std::string VolumeDir(const std::string& volume) const {
    return absl::StrCat(dir_, "/", volume);
  }

  std::string HealthAddress(const Service& service) const {
    return absl::StrCat("127.0.0.1:", local_health_ports_.at(service.name));
  }

  // The local file of what `service` mounts as /run/secrets/<mount>.
  std::string SecretPath(const Service& service, const std::string& mount) {
    const auto secret = service.secrets.find(mount);
    if (secret == service.secrets.end()) {
      ADD_FAILURE() << service.name << " reads " << kSecretsDir << mount
                    << ", which it does not mount";
      return "";
    }
    const auto path = secret_paths_.find(secret->second);
    if (path == secret_paths_.end()) {
      ADD_FAILURE() << service.name << " mounts secret " << secret->second
                    << ", which the file does not define";
      return "";
    }
    return path->second;
  }

  // A value of the file as it applies here: listen on loopback; another
  // service's address, or the service's own port or health port, becomes
  // the local one; a path in a volume moves under the temporary directory;
  // a mounted secret is its local stand-in; a path in the thbctl image's
  // data is the repository's.
  std::string Rewrite(const Service& service, const std::string& value) {
    if (absl::StartsWith(value, "--") && absl::StrContains(value, '=')) {
      const size_t equals = value.find('=');
      return absl::StrCat(value.substr(0, equals + 1),
                          Rewrite(service, value.substr(equals + 1)));
    }
    if (value == "0.0.0.0") return "127.0.0.1";
    if (absl::string_view mount = value;
        absl::ConsumePrefix(&mount, kSecretsDir)) {
      return SecretPath(service, std::string(mount));
    }
    if (const int health_port = service.health_port(); health_port > 0) {
      if (value == absl::StrCat(health_port)) {
        return absl::StrCat(local_health_ports_.at(service.name));
      }
      if (value == absl::StrCat("127.0.0.1:", health_port)) {
        return HealthAddress(service);
      }
    }
    const int own_port = service.container_port();
    if (own_port > 0 && value == absl::StrCat(own_port)) {
      return absl::StrCat(local_ports_.at(service.name));
    }
    if (own_port > 0 && value == absl::StrCat("127.0.0.1:", own_port)) {
      return addresses_.at(service.name);
    }
    if (const size_t colon = value.rfind(':'); colon != std::string::npos) {
      const std::string host = value.substr(0, colon);
      if (const auto it = addresses_.find(host); it != addresses_.end()) {
        const Service* target = Find(host);
        if (target != nullptr && target->container_port() > 0) {
          EXPECT_EQ(value.substr(colon + 1),
                    absl::StrCat(target->container_port()))
              << service.name << " calls " << host << " on a port it does "
              << "not listen on";
        }
        return it->second;
      }
    }
    for (const auto& [volume, target] : service.volumes) {
      if (value == target || absl::StartsWith(value, target + "/")) {
        return absl::StrCat(VolumeDir(volume), value.substr(target.size()));
      }
    }
    if (absl::StartsWith(value, kImageShareDir)) {
      return absl::StrCat(kSourceDir, "/",
                          value.substr(std::string(kImageShareDir).size()));
    }
    return value;
  }

  std::vector<std::string> Rewrite(const Service& service,
                                   const std::vector<std::string>& values) {
    std::vector<std::string> rewritten;
    for (const std::string& value : values) {
      rewritten.push_back(Rewrite(service, value));
    }
    return rewritten;
  }

  std::map<std::string, std::string> RewriteEnvironment(
      const Service& service) {
    std::map<std::string, std::string> environment;
    for (const auto& [variable, value] : service.environment) {
      environment[variable] = Rewrite(service, value);
    }
    return environment;
  }

  const Service* Find(const std::string& name) const {
    for (const Service& service : services_) {
      if (service.name == name) return &service;
    }
    return nullptr;
  }

  // Runs thbctl as the reader with `args`; its exit code, with its output
  // on failure.
  int Thbctl(const std::vector<std::string>& args) {
    auto run = Process::Start(THBCTL_BIN, args,
                              thb::testing::TestPki::Get().ClientEnv("reader"));
    EXPECT_TRUE(run.ok()) << run.status();
    if (!run.ok()) return -1;
    const int code = WaitForExit(*run, kJobWithin);
    EXPECT_EQ(code, 0) << "thbctl " << absl::StrJoin(args, " ") << ":\n"
                       << run->Log();
    return code;
  }

  std::string dir_;
  std::vector<Service> services_;
  std::unique_ptr<thb::testing::RedisServer> redis_;
  std::map<std::string, std::unique_ptr<Process>> servers_;
  std::map<std::string, std::string> addresses_;
  std::map<std::string, int> local_ports_;
  std::map<std::string, int> local_health_ports_;
  std::map<std::string, std::string> secret_paths_;
  std::set<std::string> healthy_;
  std::set<std::string> completed_;
};

TEST_F(ComposeTopologyTest, RunsAsLocalProcessesAndEveryReplicaAnswers) {
  ASSERT_NO_FATAL_FAILURE(StartAll());
  const std::vector<const Service*> cooperation =
      OfComponent(services_, "cooperation");
  const std::vector<const Service*> aggregators =
      OfComponent(services_, "aggregator");
  ASSERT_EQ(cooperation.size(), 1u);
  ASSERT_GE(aggregators.size(), 2u);
  ASSERT_EQ(completed_.size(), OfComponent(services_, "thbctl").size());
  ASSERT_FALSE(completed_.empty()) << "no job imported the study";

  // Each main port speaks only TLS: the service's own health check, asked
  // there, fails in plaintext and passes as the reader.
  for (const Service& service : services_) {
    if (service.component.empty() || service.is_job()) continue;
    std::vector<std::string> check = Rewrite(
        service, std::vector<std::string>(service.healthcheck.begin() + 1,
                                          service.healthcheck.end()));
    std::replace(check.begin(), check.end(), HealthAddress(service),
                 addresses_.at(service.name));
    auto plaintext = Process::Start(GRPC_CALL_BIN, check);
    ASSERT_TRUE(plaintext.ok()) << plaintext.status();
    // grpc-call exits with the call's status code: a TLS port drops a
    // plaintext connection (UNAVAILABLE), where a plaintext one would answer
    // or refuse by another code.
    EXPECT_EQ(WaitForExit(*plaintext, kCallWithin),
              static_cast<int>(grpc::StatusCode::UNAVAILABLE))
        << service.name << " answers in plaintext on its main port: grpc-call "
        << absl::StrJoin(check, " ") << ":\n"
        << plaintext->Log();
    check.erase(std::remove(check.begin(), check.end(), "--insecure"),
                check.end());
    auto tls = Process::Start(GRPC_CALL_BIN, check,
                              thb::testing::TestPki::Get().ClientEnv("reader"));
    ASSERT_TRUE(tls.ok()) << tls.status();
    EXPECT_EQ(WaitForExit(*tls, kCallWithin), 0)
        << service.name << " does not answer the reader on its main port: "
        << "grpc-call " << absl::StrJoin(check, " ") << ":\n"
        << tls->Log();
  }

  // The revision the import reached: each replica answers at it or later.
  auto cooperation_stub = coop::CooperationRecordService::NewStub(
      thb::testing::TestChannel(addresses_.at(cooperation[0]->name), "reader"));
  coop::ListRecordsRequest list;
  list.set_page_size(1);
  coop::ListRecordsResponse listed;
  grpc::ClientContext list_context;
  list_context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  ASSERT_TRUE(cooperation_stub->ListRecords(&list_context, list, &listed).ok());
  ASSERT_GT(listed.total_size(), 0) << "the import job wrote nothing";
  const std::string min_revision =
      absl::StrCat("--min_revision=", listed.revision());
  const std::string dataset =
      absl::StrCat("--dataset=", kSourceDir, "/data/study.txtpb");

  // Each replica on its own, then both behind one round_robin channel.
  std::vector<std::string> replicas;
  for (const Service* aggregator : aggregators) {
    const std::string& address = addresses_.at(aggregator->name);
    replicas.push_back(address);
    EXPECT_EQ(Thbctl({absl::StrCat("--aggregator=", address), dataset,
                      min_revision, "stats", "figures", "--check"}),
              0)
        << aggregator->name;
  }
  EXPECT_EQ(Thbctl({absl::StrCat("--aggregator=", absl::StrJoin(replicas, ",")),
                    dataset, min_revision, "stats", "figures", "--check"}),
            0);

  // The replicas share the Redis of the file: what one computed, the next
  // finds there. A date no figure is asked at keeps the query new.
  stats::CountCountriesRequest request;
  request.mutable_query()->mutable_filter()->add_partner_ids("IOM");
  request.set_as_of_date("2024-02-29");
  request.set_min_cooperation_revision(listed.revision());
  std::vector<stats::CountCountriesResponse> answers;
  for (const std::string& address : replicas) {
    auto stub = stats::StatisticsService::NewStub(
        thb::testing::TestChannel(address, "reader"));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    stats::CountCountriesResponse response;
    const grpc::Status status =
        stub->CountCountries(&context, request, &response);
    ASSERT_TRUE(status.ok()) << address << ": " << status.error_message();
    answers.push_back(response);
  }
  for (size_t i = 1; i < answers.size(); ++i) {
    EXPECT_EQ(answers[i].footnote(), answers[0].footnote());
    EXPECT_EQ(answers[i].cache(), stats::CACHE_STATUS_HIT)
        << replicas[i] << " did not find " << replicas[0]
        << "'s answer in the shared cache";
  }
  auto keys = redis_->Command({"DBSIZE"});
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_NE(*keys, "0") << "nothing cached in the Redis of the file";
}

}  // namespace
}  // namespace thb
