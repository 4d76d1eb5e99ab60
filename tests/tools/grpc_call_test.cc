// Runs the grpc-call binary against an in-process server that enables
// reflection and the health service, as the suite's servers do.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "thb/testing/v1/shapes.grpc.pb.h"

extern char** environ;

namespace thb {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using ::thb::testing::v1::RepeatRequest;
using ::thb::testing::v1::Shape;

constexpr char kShapesService[] = "thb.testing.v1.ShapesService";

// The gRPC status codes the tool exits with.
constexpr int kInvalidArgument = 3;
constexpr int kDeadlineExceeded = 4;
constexpr int kNotFound = 5;
constexpr int kUnavailable = 14;

class ShapesService final
    : public ::thb::testing::v1::ShapesService::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const Shape* request,
                                 Shape* response) override {
    *response = *request;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<Shape>* Repeat(
      grpc::CallbackServerContext* /*context*/,
      const RepeatRequest* request) override {
    return new Repeater(*request);
  }

  grpc::ServerUnaryReactor* Reject(grpc::CallbackServerContext* context,
                                   const Shape* request,
                                   Shape* /*response*/) override {
    google::rpc::Status status;
    status.set_code(grpc::StatusCode::INVALID_ARGUMENT);
    status.set_message("shape rejected");
    google::rpc::BadRequest bad_request;
    auto* violation = bad_request.add_field_violations();
    violation->set_field("points[0].x");
    violation->set_description("must be positive");
    status.add_details()->PackFrom(bad_request);
    google::rpc::ErrorInfo info;
    info.set_reason("SHAPE_REJECTED");
    info.set_domain("testing.thb");
    (*info.mutable_metadata())["name"] = request->name();
    (*info.mutable_metadata())["color"] =
        ::thb::testing::v1::Color_Name(request->color());
    status.add_details()->PackFrom(info);
    google::rpc::ResourceInfo resource;
    resource.set_resource_type("shape");
    resource.set_resource_name(request->name());
    status.add_details()->PackFrom(resource);
    // A detail of a type the server cannot describe.
    auto* unknown = status.add_details();
    unknown->set_type_url("type.googleapis.com/thb.testing.v1.Unknown");
    unknown->set_value("abc");

    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "shape rejected", status.SerializeAsString()));
    return reactor;
  }

  // Writes until `count` is reached or, when it is 0, the client cancels.
  class Repeater : public grpc::ServerWriteReactor<Shape> {
   public:
    explicit Repeater(const RepeatRequest& request) : request_(request) {
      Next();
    }
    void OnWriteDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status::CANCELLED);
        return;
      }
      Next();
    }
    void OnDone() override { delete this; }

   private:
    void Next() {
      if (request_.count() > 0 && sent_ == request_.count()) {
        Finish(grpc::Status::OK);
        return;
      }
      ++sent_;
      StartWrite(&request_.shape());
    }

    const RepeatRequest request_;
    int sent_ = 0;
  };
};

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the tool with `args`, `input` on its stdin.
Outcome RunGrpcCall(const std::vector<std::string>& args,
                    const std::string& input = "") {
  Outcome outcome;
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
      pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed";
    return outcome;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  // The in-process server speaks plaintext; TLS is tested against the
  // suite's servers (tests/integration/security_test.cc).
  std::vector<std::string> argv_strings = {GRPC_CALL_BIN, "--insecure"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned =
      posix_spawn(&pid, GRPC_CALL_BIN, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (spawned != 0) {
    ADD_FAILURE() << "cannot start " << GRPC_CALL_BIN;
    close(in[1]);
    close(out[0]);
    close(err[0]);
    return outcome;
  }
  // The tool may exit without reading its input.
  signal(SIGPIPE, SIG_IGN);
  if (!input.empty() && write(in[1], input.data(), input.size()) < 0) {
    ADD_FAILURE() << "cannot write the tool's input";
  }
  close(in[1]);

  // Both pipes are drained together: a full one would block the tool.
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  pollfd fds[] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[] = {&outcome.out, &outcome.err};
  int open_pipes = 2;
  while (open_pipes > 0 && std::chrono::steady_clock::now() < give_up) {
    if (poll(fds, 2, 100) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, n);
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
      }
    }
  }
  if (open_pipes > 0) {
    ADD_FAILURE() << "the tool did not finish";
    kill(pid, SIGKILL);
    for (pollfd& fd : fds) {
      if (fd.fd >= 0) close(fd.fd);
    }
  }
  int wait_status = 0;
  waitpid(pid, &wait_status, 0);
  outcome.exit_code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status)
                                             : 128 + WTERMSIG(wait_status);
  return outcome;
}

int CountOf(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

class GrpcCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Reflection describes only the files linked into the server; the
    // built-in health service has none of its own.
    grpc::health::v1::HealthCheckRequest::descriptor();
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    address_ = absl::StrCat("127.0.0.1:", port);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  ShapesService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

TEST_F(GrpcCallTest, ListsTheServices) {
  Outcome outcome = RunGrpcCall({address_, "list"});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(outcome.out,
            "grpc.health.v1.Health\n"
            "grpc.reflection.v1alpha.ServerReflection\n"
            "thb.testing.v1.ShapesService\n");
}

TEST_F(GrpcCallTest, ListsTheMethodsOfAService) {
  Outcome outcome = RunGrpcCall({address_, "list", kShapesService});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(outcome.out,
            "thb.testing.v1.ShapesService.Echo\n"
            "thb.testing.v1.ShapesService.Repeat\n"
            "thb.testing.v1.ShapesService.Reject\n");
}

TEST_F(GrpcCallTest, DescribesAServiceWithItsStreamingMethods) {
  Outcome outcome =
      RunGrpcCall({"--format=text", address_, "describe", kShapesService});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.out,
              AllOf(HasSubstr("service ShapesService {"),
                    HasSubstr("rpc Echo(.thb.testing.v1.Shape) returns "
                              "(.thb.testing.v1.Shape);"),
                    HasSubstr("rpc Repeat(.thb.testing.v1.RepeatRequest) "
                              "returns (stream .thb.testing.v1.Shape);")));
}

TEST_F(GrpcCallTest, DescribesAMessageWithItsFields) {
  Outcome outcome = RunGrpcCall(
      {"--format=text", address_, "describe", "thb.testing.v1.Shape"});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.out,
              AllOf(HasSubstr("message Shape {"),
                    HasSubstr(".thb.testing.v1.Color color = 2;"),
                    HasSubstr("repeated .thb.testing.v1.Shape.Point points = "
                              "3;"),
                    HasSubstr(".google.protobuf.Timestamp created_at = 4;")));
}

TEST_F(GrpcCallTest, DescribesAMethodAsItsDescriptorInJson) {
  Outcome outcome = RunGrpcCall(
      {address_, "describe", "thb.testing.v1.ShapesService/Repeat"});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(
      outcome.out,
      AllOf(HasSubstr("\"name\": \"Repeat\""),
            HasSubstr("\"inputType\": \".thb.testing.v1.RepeatRequest\""),
            HasSubstr("\"serverStreaming\": true")));
}

TEST_F(GrpcCallTest, AnUnknownSymbolIsNotFound) {
  Outcome outcome =
      RunGrpcCall({address_, "describe", "thb.testing.v1.Missing"});
  EXPECT_EQ(outcome.exit_code, kNotFound);
  EXPECT_EQ(outcome.err,
            "ERROR: NOT_FOUND: the server knows no symbol "
            "thb.testing.v1.Missing\n");
  EXPECT_THAT(outcome.out, IsEmpty());
}

TEST_F(GrpcCallTest, CallsTheHealthService) {
  Outcome outcome = RunGrpcCall(
      {address_, "call", "grpc.health.v1.Health/Check", R"({"service":""})"});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.out, HasSubstr("\"status\": \"SERVING\""));
}

TEST_F(GrpcCallTest, ExitsWithTheCodeOfAnErrorStatus) {
  Outcome outcome =
      RunGrpcCall({address_, "call", "grpc.health.v1.Health/Check",
                   R"({"service":"nope"})"});
  EXPECT_EQ(outcome.exit_code, kNotFound);
  EXPECT_THAT(outcome.err, StartsWith("ERROR: NOT_FOUND: "));
  EXPECT_THAT(outcome.out, IsEmpty());
}

TEST_F(GrpcCallTest, RejectsARequestThatIsNotJson) {
  Outcome outcome = RunGrpcCall(
      {address_, "call", "grpc.health.v1.Health/Check", R"({"service":)"});
  EXPECT_EQ(outcome.exit_code, kInvalidArgument);
  EXPECT_THAT(outcome.err,
              StartsWith("ERROR: INVALID_ARGUMENT: the request is not a JSON "
                         "grpc.health.v1.HealthCheckRequest: "));
  EXPECT_EQ(CountOf(outcome.err, "\n"), 1) << outcome.err;
}

TEST_F(GrpcCallTest, RejectsAnUnknownRequestField) {
  Outcome outcome = RunGrpcCall(
      {address_, "call", "grpc.health.v1.Health/Check", R"({"servce":""})"});
  EXPECT_EQ(outcome.exit_code, kInvalidArgument);
  EXPECT_THAT(outcome.err, HasSubstr("servce"));
}

TEST_F(GrpcCallTest, AnUnknownMethodIsNotFound) {
  Outcome outcome =
      RunGrpcCall({address_, "call", "thb.testing.v1.ShapesService/Draw"});
  EXPECT_EQ(outcome.exit_code, kNotFound);
  EXPECT_EQ(outcome.err,
            "ERROR: NOT_FOUND: service thb.testing.v1.ShapesService has no "
            "method Draw; it has Echo, Repeat, Reject\n");
}

constexpr char kSquare[] = R"({
  "name": "square",
  "color": "COLOR_RED",
  "points": [{"x": "1", "y": "2"}, {"x": "-3"}],
  "createdAt": "2024-05-01T12:00:00Z",
  "labels": {"side": "4"}
})";

TEST_F(GrpcCallTest, RoundTripsNestedEnumRepeatedMapAndTimestampFields) {
  Outcome outcome = RunGrpcCall(
      {address_, "call", "thb.testing.v1.ShapesService/Echo", kSquare});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.out,
              AllOf(HasSubstr("\"color\": \"COLOR_RED\""),
                    HasSubstr("\"createdAt\": \"2024-05-01T12:00:00Z\"")));
  Shape sent, received;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(kSquare, &sent).ok());
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(outcome.out, &received).ok())
      << outcome.out;
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(sent, received))
      << outcome.out;
}

TEST_F(GrpcCallTest, PrintsProtoFieldNamesAndDefaultsOnRequest) {
  Outcome outcome =
      RunGrpcCall({"--proto_names", "--emit_defaults", address_, "call",
                   "thb.testing.v1.ShapesService.Echo", kSquare});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.out,
              AllOf(HasSubstr("\"created_at\": "), HasSubstr("\"y\": \"0\"")));
}

TEST_F(GrpcCallTest, PrintsTextFormat) {
  Outcome outcome = RunGrpcCall({"--format=text", address_, "call",
                                 "thb.testing.v1.ShapesService/Echo", kSquare});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.out, AllOf(HasSubstr("color: COLOR_RED\n"),
                                 HasSubstr("created_at {\n")));
}

TEST_F(GrpcCallTest, ReadsTheRequestFromStdin) {
  Outcome outcome = RunGrpcCall(
      {address_, "call", "thb.testing.v1.ShapesService/Echo", "-"}, kSquare);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.out, HasSubstr("\"name\": \"square\""));
}

TEST_F(GrpcCallTest, PrintsEveryMessageOfAServerStream) {
  Outcome outcome =
      RunGrpcCall({address_, "call", "thb.testing.v1.ShapesService/Repeat",
                   R"({"shape": {"name": "dot"}, "count": 3})"});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(CountOf(outcome.out, "\"name\": \"dot\""), 3) << outcome.out;
}

TEST_F(GrpcCallTest, StopsAnEndlessStreamAfterMaxMessages) {
  Outcome outcome = RunGrpcCall({"--max_messages=2", address_, "call",
                                 "thb.testing.v1.ShapesService/Repeat",
                                 R"({"shape": {"name": "dot"}})"});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(CountOf(outcome.out, "\"name\": \"dot\""), 2) << outcome.out;
  EXPECT_THAT(outcome.err, IsEmpty());
}

TEST_F(GrpcCallTest, StopsAWatchAfterMaxMessages) {
  Outcome outcome = RunGrpcCall(
      {"--max_messages=1", address_, "call", "grpc.health.v1.Health/Watch"});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.out, HasSubstr("\"status\": \"SERVING\""));
}

TEST_F(GrpcCallTest, AWatchWithoutMaxMessagesEndsAtTheDeadline) {
  Outcome outcome = RunGrpcCall(
      {"--timeout=1s", address_, "call", "grpc.health.v1.Health/Watch"});
  EXPECT_EQ(outcome.exit_code, kDeadlineExceeded);
  EXPECT_THAT(outcome.out, HasSubstr("\"status\": \"SERVING\""));
  EXPECT_THAT(outcome.err, StartsWith("ERROR: DEADLINE_EXCEEDED: "));
}

TEST_F(GrpcCallTest, DecodesTheErrorDetailsThroughReflection) {
  Outcome outcome =
      RunGrpcCall({address_, "call", "thb.testing.v1.ShapesService/Reject",
                   R"({"name": "square", "color": "COLOR_RED"})"});
  EXPECT_EQ(outcome.exit_code, kInvalidArgument);
  EXPECT_EQ(outcome.err,
            "ERROR: INVALID_ARGUMENT: shape rejected\n"
            "  field points[0].x: must be positive\n"
            "  reason SHAPE_REJECTED (domain testing.thb) color=COLOR_RED "
            "name=square\n"
            "  google.rpc.ResourceInfo "
            R"({"resourceType":"shape","resourceName":"square"})"
            "\n"
            "  type.googleapis.com/thb.testing.v1.Unknown (3 bytes the "
            "server did not describe)\n");
  EXPECT_THAT(outcome.out, IsEmpty());
}

TEST_F(GrpcCallTest, HealthExitsZeroOnlyWhenServing) {
  server_->GetHealthCheckService()->SetServingStatus(kShapesService, false);

  Outcome serving = RunGrpcCall({address_, "health"});
  EXPECT_EQ(serving.exit_code, 0) << serving.err;
  EXPECT_EQ(serving.out, "SERVING\n");

  Outcome not_serving = RunGrpcCall({address_, "health", kShapesService});
  EXPECT_EQ(not_serving.exit_code, kUnavailable);
  EXPECT_EQ(not_serving.out, "NOT_SERVING\n");
  EXPECT_EQ(not_serving.err,
            "ERROR: UNAVAILABLE: service thb.testing.v1.ShapesService is "
            "NOT_SERVING\n");

  Outcome unknown = RunGrpcCall({address_, "health", "thb.testing.v1.Nope"});
  EXPECT_EQ(unknown.exit_code, kNotFound);
  EXPECT_THAT(unknown.err, StartsWith("ERROR: NOT_FOUND: "));
}

TEST_F(GrpcCallTest, AnUnreachableServerIsUnavailable) {
  server_->Shutdown();
  server_.reset();
  Outcome outcome = RunGrpcCall({address_, "list"});
  EXPECT_EQ(outcome.exit_code, kUnavailable);
  EXPECT_THAT(outcome.err, StartsWith("ERROR: UNAVAILABLE: "));
}

TEST_F(GrpcCallTest, AnUnknownCommandIsAnInvalidArgument) {
  Outcome outcome = RunGrpcCall({address_, "frobnicate"});
  EXPECT_EQ(outcome.exit_code, kInvalidArgument);
  EXPECT_THAT(outcome.err, HasSubstr("unknown command \"frobnicate\""));
}

}  // namespace
}  // namespace thb
