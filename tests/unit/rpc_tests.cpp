#include <boost/test/unit_test.hpp>

#include "messaging/framing.h"
#include "messaging/rpc.h"
#include "photos.h"
#include "service/error_reply.h"
#include "store/database.h"
#include "test_support.h"
#include "util/errors.h"
#include "util/json_input.h"

using namespace stoflow;
using nlohmann::json;

namespace {
struct RpcFixture {
  testing::TempDir dir;
  service::Service service{service::Config::from_environment(dir / "s.db")};
  messaging::RpcHandler rpc{service, {"owner-1", "test"}};

  json reply(const std::string& text) {
    auto r = rpc.handle(text);
    BOOST_REQUIRE(r.has_value());
    return *r;
  }
  int code(const std::string& text) {
    json r = reply(text);
    BOOST_REQUIRE(r.contains("error"));
    return r["error"]["code"];
  }
};
}  // namespace

BOOST_FIXTURE_TEST_SUITE(rpc_suite, RpcFixture)

BOOST_AUTO_TEST_CASE(hello_names_the_host_and_protocol) {
  json r = reply(
      R"({"jsonrpc":"2.0","id":1,"method":"hello","params":{"client":"t","version":"1","browser":"chrome","platforms":["vinted"]}})");
  BOOST_TEST(r["id"] == 1);
  BOOST_TEST(r["result"]["host"] == "stoflow-host");
  BOOST_TEST(r["result"]["protocol"] == 1);
  BOOST_TEST(r["result"]["version"].is_string());
}

BOOST_AUTO_TEST_CASE(malformed_messages_get_the_right_codes) {
  BOOST_TEST(code("") == -32600);
  BOOST_TEST(code("{not json") == -32700);
  BOOST_TEST(code("\"\xC3\x28\"") == -32700);  // invalid UTF-8
  BOOST_TEST(code("[1,2]") == -32600);
  BOOST_TEST(code("42") == -32600);
  BOOST_TEST(code(R"({"jsonrpc":"2.0","method":"hello"})") == -32600);  // no id
  BOOST_TEST(code(R"({"jsonrpc":"2.0","id":{},"method":"hello"})") == -32600);
  BOOST_TEST(code(R"({"jsonrpc":"1.0","id":1,"method":"hello"})") == -32600);
  BOOST_TEST(code(R"({"id":1,"method":"hello"})") == -32600);  // no "jsonrpc": "2.0"
  BOOST_TEST(code(R"({"jsonrpc":"2.0","id":1,"method":7})") == -32600);
  BOOST_TEST(code(R"({"jsonrpc":"2.0","id":1,"method":"nope"})") == -32601);
  BOOST_TEST(code(R"({"jsonrpc":"2.0","id":1,"method":"tasks.list","params":[1]})") == -32602);
  BOOST_TEST(code(R"({"jsonrpc":"2.0","id":1,"method":"tasks.list","params":{"limit":"ten"}})") ==
             -32602);
  BOOST_TEST(
      code(
          R"({"jsonrpc":"2.0","id":1,"method":"tasks.result","params":{"task_id":"1","success":true}})") ==
      -32602);
  BOOST_TEST(
      code(
          R"({"jsonrpc":"2.0","id":1,"method":"tasks.result","params":{"task_id":77,"success":true}})") ==
      -32000);
  BOOST_TEST(code(R"({"jsonrpc":"2.0","id":1,"method":"queues.get","params":{"queue_id":5}})") ==
             -32000);
  BOOST_TEST(
      code(
          R"({"jsonrpc":"2.0","id":1,"method":"products.publish","params":{"platform":"vinted","product_id":5}})") ==
      -32000);
}

BOOST_AUTO_TEST_CASE(errors_carry_the_request_id_and_a_kind) {
  json r = reply(R"({"jsonrpc":"2.0","id":"abc","method":"queues.get","params":{"queue_id":5}})");
  BOOST_TEST(r["id"] == "abc");
  BOOST_TEST(r["error"]["data"]["kind"] == "not_found");
  BOOST_TEST(r["error"]["message"].get<std::string>().find("queue 5") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(blob_reads_are_bounded_and_confined) {
  BOOST_TEST(
      code(
          R"({"jsonrpc":"2.0","id":1,"method":"blobs.read","params":{"blob":"../../etc/passwd","offset":0,"length":10}})") ==
      -32602);
  std::string missing(64, 'b');
  BOOST_TEST(code(R"({"jsonrpc":"2.0","id":1,"method":"blobs.read","params":{"blob":")" + missing +
                  R"(","offset":0,"length":10}})") == -32000);
  BOOST_TEST(code(R"({"jsonrpc":"2.0","id":1,"method":"blobs.read","params":{"blob":")" + missing +
                  R"(","offset":0,"length":524289}})") == -32003);
  json too_long = reply(R"({"jsonrpc":"2.0","id":1,"method":"blobs.read","params":{"blob":")" +
                        missing + R"(","offset":0,"length":524289}})");
  BOOST_TEST(too_long["error"]["data"]["max_length"] == 524288);
  BOOST_TEST(code(R"({"jsonrpc":"2.0","id":1,"method":"blobs.read","params":{"blob":")" + missing +
                  R"(","offset":-1,"length":10}})") == -32602);
}

std::string blobs_read(const json& id, const std::string& blob, int64_t offset, int64_t length) {
  return json{{"jsonrpc", "2.0"},
              {"id", id},
              {"method", "blobs.read"},
              {"params", {{"blob", blob}, {"offset", offset}, {"length", length}}}}
      .dump();
}

// The native host writes blobs.read replies without the JSON serialiser: the
// text must be the one it would have produced, whatever the id, the offset
// and the outcome.
BOOST_AUTO_TEST_CASE(blob_chunk_wire_is_the_json_reply_to_the_byte) {
  std::string photo = testing::jpeg_like_bytes(1'000'000, 7);
  std::string sha = service.blobs().put_bytes(photo).sha256;
  std::string missing(64, 'b');
  const std::vector<std::string> requests = {
      blobs_read(1, sha, 0, 524288),
      blobs_read(2, sha, 524288, 524288),  // the rest: eof
      blobs_read("chunk \"7\"", sha, 0, 1),
      blobs_read(-3, sha, 999'999, 10),
      blobs_read(4, sha, 1'000'000, 10),  // at the end: no bytes, eof
      blobs_read(5, sha, 5'000'000, 10),
      blobs_read(6, missing, 0, 10),  // errors go the usual way
      blobs_read(7, sha, 0, 524289),
      blobs_read(8, "../etc/passwd", 0, 10),
  };
  for (const auto& request : requests) {
    auto wire = rpc.handle_wire(request);
    auto plain = rpc.handle(request);
    BOOST_REQUIRE(wire.has_value());
    BOOST_REQUIRE(plain.has_value());
    BOOST_TEST(*wire == messaging::to_wire(*plain), request);
  }
  json first = json::parse(*rpc.handle_wire(blobs_read(1, sha, 0, 524288)));
  BOOST_TEST(first["result"]["length"] == 524288);
  BOOST_TEST(first["result"]["eof"] == false);
  BOOST_TEST(first["result"]["size"] == 1'000'000);
  BOOST_TEST(rpc.last_method() == "blobs.read");
}

// The largest chunk's reply fits in one native message, with room for an id
// far longer than any client's.
BOOST_AUTO_TEST_CASE(the_largest_chunk_fits_in_one_message) {
  std::string photo = testing::jpeg_like_bytes(3'000'000, 9);
  std::string sha = service.blobs().put_bytes(photo).sha256;
  auto wire = rpc.handle_wire(
      blobs_read(std::string(600, 'x'), sha, 4'000'000'000'000'000'000, service::kMaxBlobChunk));
  BOOST_REQUIRE(wire.has_value());
  BOOST_TEST(json::parse(*wire)["result"]["eof"] == true);
  wire = rpc.handle_wire(blobs_read(std::string(600, 'x'), sha, 1'000'000, service::kMaxBlobChunk));
  BOOST_REQUIRE(wire.has_value());
  json reply = json::parse(*wire);
  BOOST_TEST(reply["result"]["length"] == service::kMaxBlobChunk);
  BOOST_TEST(wire->size() <= messaging::kMaxOutgoingFrame);
}

BOOST_AUTO_TEST_CASE(a_response_object_is_ignored) {
  BOOST_TEST(!rpc.handle(R"({"jsonrpc":"2.0","id":3,"result":{}})").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(error_reply_suite)

// The host's own JSON mistakes are its failures, never the caller's bad params.
BOOST_AUTO_TEST_CASE(one_mapping_from_exceptions_to_replies) {
  try {
    json number = 5;
    (void)number.get<std::string>();
  } catch (const json::exception& e) {
    auto reply = service::error_reply(e, "test");
    BOOST_TEST(static_cast<int>(reply.code) == static_cast<int>(ErrorCode::kInternal));
    BOOST_TEST(reply.message.rfind("internal error: ", 0) == 0u);
  }
  auto caller =
      service::error_reply(AppError(ErrorCode::kWrongState, "already", {{"queue_id", 3}}), "test");
  BOOST_TEST(static_cast<int>(caller.code) == static_cast<int>(ErrorCode::kWrongState));
  BOOST_TEST(caller.message == "already");
  BOOST_TEST(caller.data["queue_id"] == 3);
  auto database = service::error_reply(store::DatabaseError("disk I/O error"), "test");
  BOOST_TEST(static_cast<int>(database.code) == static_cast<int>(ErrorCode::kInternal));
  BOOST_TEST(database.message == "database error: disk I/O error");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(json_input_suite)

BOOST_AUTO_TEST_CASE(nesting_is_counted_outside_strings_only) {
  BOOST_TEST(!nests_deeper_than(R"({"a": [[1]]})", 3));
  BOOST_TEST(nests_deeper_than(R"({"a": [[[1]]]})", 3));
  BOOST_TEST(!nests_deeper_than(R"({"a": "[[[[[[", "b": "\"[[[[{{{{"})", 1));
  BOOST_TEST(nests_deeper_than(R"(["\\", [[]]])", 2));  // an escaped backslash ends no string
  BOOST_TEST(!nests_deeper_than("[][][][][]", 1));      // siblings do not add up
}

BOOST_AUTO_TEST_CASE(deep_documents_are_refused_before_parsing) {
  std::string deep = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  try {
    parse_external_json(deep);
    BOOST_FAIL("a document deeper than the limit was parsed");
  } catch (const AppError& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kInvalidRequest));
  }
  std::string fine = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  BOOST_TEST(parse_external_json(fine).is_array());
  BOOST_CHECK_THROW(parse_external_json("{\"a\": "), AppError);
}

BOOST_AUTO_TEST_CASE(every_library_exception_becomes_an_input_error) {
  for (const char* text : {R"({"n": 1e400})", R"([-1e999])", "{\"a\": ", "\xFF"}) {
    try {
      parse_external_json(text);
      BOOST_FAIL("parsed " << text);
    } catch (const AppError& e) {
      BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kParseError));
    }
  }
}

BOOST_AUTO_TEST_CASE(values_are_counted_before_parsing) {
  BOOST_TEST(measure_json("[]").values == 2u);  // an upper bound: the array, its first slot
  BOOST_TEST(measure_json(R"({"a": 1, "b": [2, 3]})").values >= 6u);
  BOOST_TEST(measure_json(R"(["a,b:c", "[{"])").values == 3u);  // strings hide their commas
  std::string many = "[0";
  for (int i = 0; i < 100; ++i) many += ",0";
  many += "]";
  BOOST_CHECK_THROW(parse_external_json(many, 50), AppError);
  BOOST_TEST(parse_external_json(many, 200).size() == 101u);
  try {
    parse_external_json(many, 50);
  } catch (const AppError& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kTooLarge));
  }
}

BOOST_AUTO_TEST_CASE(the_id_of_an_unparsable_request_is_recovered) {
  using messaging::recover_request_id;
  BOOST_TEST(recover_request_id(R"({"jsonrpc":"2.0","id":1,"params":{"n":1e400}})").value_or(0) ==
             json(1));
  BOOST_TEST(
      recover_request_id(R"( { "params": {"id": 9, "x": [1e400]}, "id" : "a\"b" })").value_or(0) ==
      json("a\"b"));
  BOOST_TEST(!recover_request_id(R"({"params": {"id": 9}, "n": 1e400})"));  // nested id is not it
  BOOST_TEST(!recover_request_id(R"({"x": "\"id\": 3", "n": 1e400})"));     // nor one in a string
  BOOST_TEST(!recover_request_id(R"({"id": 1.5})"));
  BOOST_TEST(!recover_request_id(R"({"id": {"a": 1}})"));
  BOOST_TEST(!recover_request_id(R"([{"id": 1}])"));
  BOOST_TEST(!recover_request_id(R"({"id": "unterminated)"));
  BOOST_TEST(!recover_request_id(""));
}

BOOST_AUTO_TEST_SUITE_END()
