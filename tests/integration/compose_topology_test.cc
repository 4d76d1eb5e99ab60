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
// and every replica answers the study's figures to the reader.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

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
#include "tests/integration/compose_file.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb {
namespace {

using ::thb::testing::Process;
namespace coop = ::thb::cooperation::v1;
namespace stats = ::thb::stats::v1;

using ::thb::testing::BinaryOf;
using ::thb::testing::Contains;
using ::thb::testing::kImageShareDir;
using ::thb::testing::kSecretsDir;
using ::thb::testing::kSourceDir;
using ::thb::testing::LoadCompose;
using ::thb::testing::LoadSecrets;
using ::thb::testing::OfComponent;
using ::thb::testing::ReadText;
using ::thb::testing::SecretMountsNamed;
using ::thb::testing::Service;
using ::thb::testing::WaitForExit;

constexpr absl::Duration kHealthyWithin = absl::Seconds(60);
constexpr absl::Duration kJobWithin = absl::Seconds(120);
constexpr absl::Duration kCallWithin = absl::Seconds(30);
// Secret files under these directories (relative to the compose file) are
// the quick start's development PKI, and what scripts/deploy-secrets.sh
// writes; the test stands in its own for both.
constexpr char kPkiFiles[] = ".thb/tls/";
constexpr char kMadeFiles[] = ".thb/";
// The size of a secret the test makes, as deploy-secrets.sh makes them.
constexpr int kSecretBytes = 32;

// `bytes` random bytes as hex digits.
std::string RandomHex(int bytes) {
  std::ifstream random("/dev/urandom", std::ios::binary);
  std::string raw(bytes, '\0');
  random.read(raw.data(), bytes);
  EXPECT_TRUE(random.good()) << "cannot read /dev/urandom";
  return absl::BytesToHexString(raw);
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
