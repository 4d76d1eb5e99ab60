#ifndef THB_TESTS_INTEGRATION_COMPOSE_FILE_H_
#define THB_TESTS_INTEGRATION_COMPOSE_FILE_H_

// What the compose tests read of docker-compose.yml: its services, with
// their environment, command, ports, volumes, secrets and dependencies, and
// the binaries that stand in for their images. Needs THB_SOURCE_DIR and the
// binaries' paths (THB_REGISTRY_BIN, ...) defined.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "yaml-cpp/yaml.h"

namespace thb::testing {

constexpr char kSourceDir[] = THB_SOURCE_DIR;
// The thbctl image's copy of the repository's files: data/study.txtpb is
// /usr/share/thb/data/study.txtpb there.
constexpr char kImageShareDir[] = "/usr/share/thb/";
// Where compose mounts a service's secrets.
constexpr char kSecretsDir[] = "/run/secrets/";

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

inline std::string BinaryOf(const std::string& component) {
  static const auto* const binaries = new std::map<std::string, std::string>{
      {"registry", THB_REGISTRY_BIN},
      {"cooperation", THB_COOPERATION_BIN},
      {"aggregator", THB_AGGREGATOR_BIN},
      {"thbctl", THBCTL_BIN}};
  const auto it = binaries->find(component);
  return it == binaries->end() ? "" : it->second;
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

// `mapping[key]`, or a null node when there is no such key (yaml-cpp throws
// on any question to an absent key's node but whether it is defined).
inline YAML::Node Child(const YAML::Node& mapping, const std::string& key) {
  if (!mapping.IsMap()) return YAML::Node();
  const YAML::Node child = mapping[key];
  return child.IsDefined() ? child : YAML::Node();
}

// The scalar `mapping[key]`, or "" when there is none.
inline std::string Text(const YAML::Node& mapping, const std::string& key) {
  const YAML::Node child = Child(mapping, key);
  return child.IsScalar() ? child.as<std::string>() : "";
}

// The mapping with its YAML merge keys ("<<: *anchor") applied: keys written
// beside the merge win over the merged ones. yaml-cpp reads "<<" as an
// ordinary key.
inline YAML::Node Merged(const YAML::Node& mapping) {
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

inline std::vector<std::string> Strings(const YAML::Node& node) {
  std::vector<std::string> values;
  if (node.IsScalar()) values.push_back(node.as<std::string>());
  if (node.IsSequence()) {
    for (const auto& value : node) values.push_back(value.as<std::string>());
  }
  return values;
}

inline Service ReadService(const std::string& name, const YAML::Node& raw) {
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
inline YAML::Node LoadRoot() {
  const std::string path = absl::StrCat(kSourceDir, "/docker-compose.yml");
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::Exception& error) {
    ADD_FAILURE() << path << ": " << error.what();
    return YAML::Node();
  }
}

// The services of the compose file, in the order of the file.
inline std::vector<Service> LoadCompose() {
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
inline std::set<std::string> SecretMountsNamed(
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
inline std::vector<std::string> ValuesOf(const Service& service) {
  std::vector<std::string> values = service.command;
  for (const auto& [variable, value] : service.environment) {
    values.push_back(value);
  }
  return values;
}

inline bool Contains(const std::vector<std::string>& values,
                     const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// The file's top-level secrets: each key to its `file:`, relative to the
// compose file.
inline std::map<std::string, std::string> LoadSecrets() {
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

inline std::vector<const Service*> OfComponent(
    const std::vector<Service>& services, const std::string& component) {
  std::vector<const Service*> found;
  for (const Service& service : services) {
    if (service.component == component) found.push_back(&service);
  }
  return found;
}

// Waits for a process that ends by itself; its exit code, or -1 once
// `timeout` is over (it is then killed).
inline int WaitForExit(Process& process, absl::Duration timeout) {
  // Signal 0 delivers nothing: this only waits for the exit.
  const absl::StatusOr<int> code = process.Signal(0, timeout);
  if (!code.ok()) {
    process.Kill();
    return -1;
  }
  return *code;
}

}  // namespace thb::testing

#endif  // THB_TESTS_INTEGRATION_COMPOSE_FILE_H_
