#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace thb::testing {
namespace {

// sockaddr_un holds 108 bytes; keep a margin.
constexpr size_t kMaxUnixPath = 100;
constexpr int kStartAttempts = 20;
constexpr absl::Duration kPingTimeout = absl::Seconds(10);

absl::StatusOr<std::string> FindRedisServer() {
  if (const char* named = getenv("THB_REDIS_SERVER");
      named != nullptr && *named != '\0') {
    return std::string(named);
  }
  const char* path = getenv("PATH");
  if (path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':')) {
      if (dir.empty()) continue;
      std::string candidate = absl::StrCat(dir, "/redis-server");
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return absl::NotFoundError("redis-server is not on PATH");
}

// A loopback port nobody listens on now; it may be taken before it is used,
// hence the caller's retries.
absl::StatusOr<int> FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return absl::InternalError("cannot bind a loopback socket to port 0");
  }
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(
    RedisServerOptions options) {
  absl::StatusOr<std::string> binary = FindRedisServer();
  if (!binary.ok()) return binary.status();
  std::string dir = MakeTempDir("redis");
  if (dir.empty()) return absl::InternalError("cannot make a temp directory");
  std::unique_ptr<RedisServer> server(
      new RedisServer(*std::move(binary), std::move(dir), std::move(options)));
  if (absl::Status status = server->Launch(); !status.ok()) return status;
  return server;
}

std::string RedisServer::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

std::string RedisServer::unix_address() const {
  const std::string path = absl::StrCat(dir_, "/redis.sock");
  if (path.size() > kMaxUnixPath) return "";
  return absl::StrCat("unix:", path);
}

void RedisServer::Kill() {
  if (process_ != nullptr) process_->Kill();
}

absl::Status RedisServer::Restart() {
  Kill();
  return Launch();
}

void RedisServer::Pause() {
  if (process_ != nullptr && process_->pid() > 0) {
    kill(process_->pid(), SIGSTOP);
  }
}

void RedisServer::Resume() {
  if (process_ != nullptr && process_->pid() > 0) {
    kill(process_->pid(), SIGCONT);
  }
}

absl::Status RedisServer::Launch() {
  const bool fixed_port = port_ != 0;
  absl::Status last = absl::UnknownError("redis-server never started");
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    if (attempt > 0) absl::SleepFor(absl::Milliseconds(100));
    if (!fixed_port) {
      absl::StatusOr<int> port = FreePort();
      if (!port.ok()) return port.status();
      port_ = *port;
    }
    std::vector<std::string> args = {"--port",       absl::StrCat(port_),
                                     "--bind",       "127.0.0.1",
                                     "--save",       "",
                                     "--appendonly", "no",
                                     "--dir",        dir_,
                                     "--loglevel",   "warning"};
    if (const std::string unix_address = this->unix_address();
        !unix_address.empty()) {
      args.push_back("--unixsocket");
      args.push_back(unix_address.substr(5));
    }
    if (!options_.password.empty()) {
      args.push_back("--requirepass");
      args.push_back(options_.password);
    }
    if (!options_.acl_user.empty()) {
      // Redis joins the words after --user into one ACL rule line.
      for (std::string word :
           {std::string("--user"), options_.acl_user, std::string("on"),
            absl::StrCat(">", options_.acl_password), std::string("~*"),
            std::string("&*"), std::string("+@all")}) {
        args.push_back(std::move(word));
      }
    }
    absl::StatusOr<Process> process = Process::Start(binary_, args);
    if (!process.ok()) return process.status();
    process_ = std::make_unique<Process>(*std::move(process));
    last = WaitUntilAnswering();
    if (last.ok()) return last;
    // Most likely the port was taken meanwhile: try again (another port,
    // unless it must stay the same).
    process_->Kill();
  }
  return last;
}

absl::Status RedisServer::WaitUntilAnswering() {
  const absl::Time deadline = absl::Now() + kPingTimeout;
  absl::Status last;
  while (absl::Now() < deadline) {
    if (!process_->running()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "redis-server on port ", port_, " exited:\n", process_->Log()));
    }
    absl::StatusOr<std::string> pong = Command({"PING"});
    if (pong.ok() && *pong == "PONG") return absl::OkStatus();
    last = pong.status();
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "redis-server on port ", port_, " did not answer PING within ",
      absl::FormatDuration(kPingTimeout), ": ", last.ToString(), "\n",
      process_->Log()));
}

absl::StatusOr<std::string> RedisServer::Command(
    const std::vector<std::string>& argv) {
  redisContext* context = redisConnectWithTimeout(
      "127.0.0.1", port_, absl::ToTimeval(absl::Seconds(1)));
  if (context == nullptr) return absl::InternalError("cannot allocate");
  if (context->err != 0) {
    absl::Status status = absl::UnavailableError(
        absl::StrCat("connect to port ", port_, ": ", context->errstr));
    redisFree(context);
    return status;
  }
  redisSetTimeout(context, absl::ToTimeval(absl::Seconds(5)));
  if (!options_.password.empty()) {
    auto* auth = static_cast<redisReply*>(
        redisCommand(context, "AUTH %b", options_.password.data(),
                     options_.password.size()));
    const bool ok = auth != nullptr && auth->type == REDIS_REPLY_STATUS;
    if (auth != nullptr) freeReplyObject(auth);
    if (!ok) {
      redisFree(context);
      return absl::PermissionDeniedError(
          absl::StrCat("AUTH to port ", port_, " refused"));
    }
  }
  std::vector<const char*> pieces;
  std::vector<size_t> lengths;
  for (const std::string& piece : argv) {
    pieces.push_back(piece.data());
    lengths.push_back(piece.size());
  }
  auto* reply = static_cast<redisReply*>(redisCommandArgv(
      context, static_cast<int>(argv.size()), pieces.data(), lengths.data()));
  absl::StatusOr<std::string> result;
  if (reply == nullptr) {
    result = absl::UnavailableError(context->errstr);
  } else if (reply->type == REDIS_REPLY_ERROR) {
    result = absl::FailedPreconditionError(std::string(reply->str, reply->len));
  } else if (reply->type == REDIS_REPLY_INTEGER) {
    result = absl::StrCat(reply->integer);
  } else if (reply->type == REDIS_REPLY_NIL) {
    result = std::string("(nil)");
  } else if (reply->type == REDIS_REPLY_STRING ||
             reply->type == REDIS_REPLY_STATUS) {
    result = std::string(reply->str, reply->len);
  } else {
    result =
        absl::UnimplementedError(absl::StrCat("reply of type ", reply->type));
  }
  if (reply != nullptr) freeReplyObject(reply);
  redisFree(context);
  return result;
}

}  // namespace thb::testing
