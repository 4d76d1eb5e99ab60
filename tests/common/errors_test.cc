#include "common/errors.h"

#include <string>

#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace thb {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kBadRequestUrl[] = "type.googleapis.com/google.rpc.BadRequest";
constexpr char kErrorInfoUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";

// The trailer a client receives, decoded the way any gRPC client would.
google::rpc::Status DecodeTrailer(const grpc::Status& status) {
  google::rpc::Status decoded;
  EXPECT_TRUE(decoded.ParseFromString(status.error_details()));
  return decoded;
}

google::rpc::ErrorInfo FindErrorInfo(const google::rpc::Status& status) {
  google::rpc::ErrorInfo info;
  int found = 0;
  for (const auto& detail : status.details()) {
    if (detail.type_url() == kErrorInfoUrl) {
      EXPECT_TRUE(info.ParseFromString(detail.value()));
      ++found;
    }
  }
  EXPECT_EQ(found, 1);
  return info;
}

TEST(ErrorsTest, ShownValuesAreEscapedAndCutShort) {
  EXPECT_EQ(ShownValue("ZZ"), "ZZ");
  EXPECT_EQ(ShownValue("a\tb\n"), "a\\tb\\n");
  EXPECT_EQ(ShownValue(std::string(40, 'x')), std::string(32, 'x') + "...");
  EXPECT_EQ(ShownValue(std::string(40, 'x'), 40), std::string(40, 'x'));
  EXPECT_EQ(QuotedValue("ZZ"), "\"ZZ\"");
  EXPECT_EQ(QuotedValue(std::string(33, 'y')),
            "\"" + std::string(32, 'y') + "...\"");
}

TEST(ErrorsTest, InvalidArgumentNamesFieldAndCarriesViolation) {
  const absl::Status status =
      InvalidArgument("country.code", "\"X1\" is not two capital letters");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "country.code: \"X1\" is not two capital letters");
  EXPECT_THAT(FieldViolations(status),
              ElementsAre(AllOf(Field(&FieldViolation::field, "country.code"),
                                Field(&FieldViolation::description,
                                      "\"X1\" is not two capital letters"))));
  EXPECT_EQ(ErrorReason(status), "INVALID_ARGUMENT");
}

TEST(ErrorsTest, SeveralViolationsKeepAllAndNameTheFirst) {
  const absl::Status status =
      InvalidArgument({{"filter.emn_statuses[1]", "7 is not an EmnStatus"},
                       {"page_size", "-1 is negative"},
                       {"page_token", "\"zz\" is not a page token"}});
  EXPECT_EQ(status.message(),
            "filter.emn_statuses[1]: 7 is not an EmnStatus (and 2 more "
            "fields)");
  EXPECT_THAT(
      FieldViolations(status),
      ElementsAre(Field(&FieldViolation::field, "filter.emn_statuses[1]"),
                  Field(&FieldViolation::field, "page_size"),
                  Field(&FieldViolation::field, "page_token")));
}

TEST(ErrorsTest, NotFoundAndAlreadyExistsNameTheResource) {
  const absl::Status not_found = NotFound("country", "XX");
  EXPECT_EQ(not_found.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(not_found.message(), "country \"XX\" not found");
  EXPECT_EQ(ErrorReason(not_found), "NOT_FOUND");
  EXPECT_TRUE(FieldViolations(not_found).empty());

  const absl::Status exists = AlreadyExists("country", "EL");
  EXPECT_EQ(exists.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(exists.message(), "country \"EL\" already exists");
  EXPECT_EQ(ErrorReason(exists), "ALREADY_EXISTS");
}

TEST(ErrorsTest, EtagMismatchSaysBothEtags) {
  const absl::Status status = EtagMismatch("country", "EL", "abc", "def");
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(status.message(),
            "etag \"abc\" does not match the current etag \"def\" of country "
            "\"EL\"");
  EXPECT_EQ(ErrorReason(status), "ETAG_MISMATCH");
}

TEST(ErrorsTest, RevisionCompactedTellsTheClientToListAgain) {
  const absl::Status status = RevisionCompacted(3, 10);
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(status.message(),
            "from_revision 3 is older than the oldest kept revision 10; list "
            "again");
  EXPECT_EQ(ErrorReason(status), "REVISION_COMPACTED");
}

TEST(ErrorsTest, WithReasonReplacesReasonAndMergesMetadata) {
  absl::Status status = WithReason(absl::FailedPreconditionError("busy"),
                                   "STORE_BUSY", {{"store", "registry"}});
  EXPECT_EQ(ErrorReason(status), "STORE_BUSY");
  status = WithReason(status, "STORE_LOCKED", {{"table", "country"}});
  EXPECT_EQ(ErrorReason(status), "STORE_LOCKED");

  const google::rpc::ErrorInfo info =
      FindErrorInfo(DecodeTrailer(ToGrpcStatus(status, "registry.thb")));
  EXPECT_THAT(info.metadata(), UnorderedElementsAre(Pair("store", "registry"),
                                                    Pair("table", "country")));
}

TEST(ErrorsTest, WithReasonLeavesOkAlone) {
  const absl::Status status = WithReason(absl::OkStatus(), "NOTHING");
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(ErrorReason(status), "");
}

TEST(ErrorsTest, PlainStatusHasNoDetails) {
  EXPECT_TRUE(FieldViolations(absl::InternalError("x")).empty());
  EXPECT_EQ(ErrorReason(absl::InternalError("x")), "");
}

TEST(GrpcStatusTest, OkMapsToOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus(), "registry.thb").ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, TrailerCarriesBadRequestAndErrorInfo) {
  const grpc::Status status = ToGrpcStatus(
      InvalidArgument("country.code", "\"X1\" is not two capital letters"),
      "registry.thb");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "country.code: \"X1\" is not two capital letters");

  const google::rpc::Status trailer = DecodeTrailer(status);
  EXPECT_EQ(trailer.code(),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(trailer.message(), status.error_message());

  google::rpc::BadRequest bad_request;
  bool found_bad_request = false;
  for (const auto& detail : trailer.details()) {
    if (detail.type_url() == kBadRequestUrl) {
      ASSERT_TRUE(bad_request.ParseFromString(detail.value()));
      found_bad_request = true;
    }
  }
  ASSERT_TRUE(found_bad_request);
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "country.code");
  EXPECT_EQ(bad_request.field_violations(0).description(),
            "\"X1\" is not two capital letters");

  const google::rpc::ErrorInfo info = FindErrorInfo(trailer);
  EXPECT_EQ(info.reason(), "INVALID_ARGUMENT");
  EXPECT_EQ(info.domain(), "registry.thb");
}

TEST(GrpcStatusTest, ErrorInfoMetadataNamesTheResource) {
  const grpc::Status status =
      ToGrpcStatus(NotFound("country", "XX"), "registry.thb");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  const google::rpc::Status trailer = DecodeTrailer(status);
  // No BadRequest for an error that is not about a field.
  ASSERT_EQ(trailer.details_size(), 1);
  const google::rpc::ErrorInfo info = FindErrorInfo(trailer);
  EXPECT_EQ(info.reason(), "NOT_FOUND");
  EXPECT_THAT(info.metadata(),
              UnorderedElementsAre(Pair("resource_type", "country"),
                                   Pair("resource_name", "XX")));
}

TEST(GrpcStatusTest, PlainErrorGetsTheCodeAsReason) {
  const grpc::Status status =
      ToGrpcStatus(absl::UnavailableError("store closed"), "stats.thb");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  const google::rpc::ErrorInfo info = FindErrorInfo(DecodeTrailer(status));
  EXPECT_EQ(info.reason(), "UNAVAILABLE");
  EXPECT_EQ(info.domain(), "stats.thb");
}

TEST(GrpcStatusTest, RoundTripRestoresViolationsAndReason) {
  const absl::Status original = InvalidArgument(
      {{"record.country_code", "\"XX\" is not a country"},
       {"record.date", "\"2023-02-30\" is not a date in the form YYYY-MM-DD"}});
  const absl::Status back =
      FromGrpcStatus(ToGrpcStatus(original, "cooperation.thb"));
  EXPECT_EQ(back.code(), original.code());
  EXPECT_EQ(back.message(), original.message());
  EXPECT_EQ(ErrorReason(back), "INVALID_ARGUMENT");
  EXPECT_THAT(FieldViolations(back),
              ElementsAre(Field(&FieldViolation::field, "record.country_code"),
                          Field(&FieldViolation::field, "record.date")));

  const absl::Status etag = FromGrpcStatus(
      ToGrpcStatus(EtagMismatch("country", "EL", "a", "b"), "registry.thb"));
  EXPECT_EQ(etag.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ErrorReason(etag), "ETAG_MISMATCH");
}

TEST(GrpcStatusTest, RelayingKeepsTheUpstreamDomain) {
  const absl::Status upstream =
      FromGrpcStatus(ToGrpcStatus(NotFound("country", "XX"), "registry.thb"));
  const google::rpc::ErrorInfo info =
      FindErrorInfo(DecodeTrailer(ToGrpcStatus(upstream, "stats.thb")));
  EXPECT_EQ(info.reason(), "NOT_FOUND");
  // The relaying service names itself: the client talked to it.
  EXPECT_EQ(info.domain(), "stats.thb");
  EXPECT_EQ(info.metadata().at("resource_name"), "XX");
}

TEST(GrpcStatusTest, FromGrpcStatusToleratesMissingOrBadDetails) {
  const absl::Status plain = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "too slow"));
  EXPECT_EQ(plain.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(plain.message(), "too slow");
  EXPECT_EQ(ErrorReason(plain), "");

  const absl::Status garbage = FromGrpcStatus(grpc::Status(
      grpc::StatusCode::INTERNAL, "broken", std::string("\xff\xff\xff", 3)));
  EXPECT_EQ(garbage.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(FieldViolations(garbage).empty());
}

}  // namespace
}  // namespace thb
