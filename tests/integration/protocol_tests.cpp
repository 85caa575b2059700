#include <signal.h>

#include <boost/test/unit_test.hpp>

#include "harness.h"

using namespace stoflow::testing;
using namespace std::chrono_literals;

namespace {

std::string frame_of(const std::string& body) {
  uint32_t n = static_cast<uint32_t>(body.size());
  return std::string(reinterpret_cast<const char*>(&n), 4) + body;
}

int error_code_of(HostProcess& host) {
  auto reply = host.receive(5s);
  BOOST_REQUIRE_MESSAGE(reply.has_value(), "no reply; host stderr: " + host.stderr_text());
  BOOST_REQUIRE_MESSAGE(reply->contains("error"), reply->dump());
  return (*reply)["error"]["code"];
}

void still_serving(HostProcess& host) {
  json hello = host.result_of("hello", {{"client", "t"}});
  BOOST_TEST(hello["host"] == "stoflow-host");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(protocol)

BOOST_AUTO_TEST_CASE(every_malformed_message_gets_its_error_and_the_host_keeps_serving) {
  HostEnv env;
  int64_t product = env.product_with_photos("p", {500});
  HostProcess host(env.env);

  host.send_raw(frame_of(""));  // length 0
  BOOST_TEST(error_code_of(host) == -32600);
  still_serving(host);

  host.send_raw(frame_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hel"));  // invalid JSON
  BOOST_TEST(error_code_of(host) == -32700);
  still_serving(host);

  host.send_raw(
      frame_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"h\xC3\x28\"}"));  // invalid UTF-8
  BOOST_TEST(error_code_of(host) == -32700);
  still_serving(host);

  // Deep enough to overflow the stack when copied: refused before parsing.
  host.send_raw(frame_of(R"({"jsonrpc":"2.0","id":1,"method":"tasks.result","params":{"result":)" +
                         std::string(200000, '[') + std::string(200000, ']') + "}}"));
  BOOST_TEST(error_code_of(host) == -32600);
  still_serving(host);

  host.send_raw(frame_of(R"({"id":1,"method":"hello"})"));  // no "jsonrpc": "2.0"
  BOOST_TEST(error_code_of(host) == -32600);

  host.send_raw(frame_of("[1,2,3]"));
  BOOST_TEST(error_code_of(host) == -32600);
  host.send_raw(frame_of("\"hello\""));
  BOOST_TEST(error_code_of(host) == -32600);
  still_serving(host);

  host.send({{"jsonrpc", "2.0"}, {"method", "hello"}});  // missing id
  BOOST_TEST(error_code_of(host) == -32600);
  still_serving(host);

  json unknown = host.call("tasks.explode", json::object());
  BOOST_TEST(unknown["error"]["code"] == -32601);
  BOOST_TEST(unknown["id"].is_number());

  BOOST_TEST(host.call("tasks.list", {{"limit", "many"}})["error"]["code"] == -32602);
  BOOST_TEST(host.call("tasks.result", {{"task_id", "1"}, {"success", true}})["error"]["code"] ==
             -32602);
  BOOST_TEST(host.call("tasks.result", {{"task_id", 1}, {"success", "yes"}})["error"]["code"] ==
             -32602);
  BOOST_TEST(host.call("products.publish",
                       {{"platform", 3}, {"product_id", product}})["error"]["code"] == -32602);
  BOOST_TEST(host.call("queues.get", {{"queue_id", -4}})["error"]["code"] == -32602);

  json unknown_task = host.call("tasks.result", {{"task_id", 424242}, {"success", true}});
  BOOST_TEST(unknown_task["error"]["code"] == -32000);

  // A step that exists but was never handed out.
  json receipt =
      host.result_of("products.publish", {{"platform", "vinted"}, {"product_id", product}});
  json not_leased =
      host.call("tasks.result",
                {{"task_id", receipt["task_id"]}, {"success", true}, {"result", {{"id", 1}}}});
  BOOST_TEST(not_leased["error"]["code"] == -32001);
  BOOST_TEST(not_leased["error"]["message"].get<std::string>().find("not in flight") !=
             std::string::npos);

  json missing_product =
      host.call("products.publish", {{"platform", "vinted"}, {"product_id", 999}});
  BOOST_TEST(missing_product["error"]["code"] == -32000);
  json bad_blob =
      host.call("blobs.read", {{"blob", "../../../etc/passwd"}, {"offset", 0}, {"length", 10}});
  BOOST_TEST(bad_blob["error"]["code"] == -32602);
  still_serving(host);

  // Nothing was lost or half-written along the way.
  json queues = host.result_of("queues.list");
  BOOST_TEST(queues.size() == 1);
}

// The extension asks for a photo's chunks ahead of time: requests sent in one
// write are answered in order, and the chunks make up the photo.
BOOST_AUTO_TEST_CASE(pipelined_blob_reads_come_back_in_order) {
  HostEnv env;
  std::vector<std::string> photos;
  int64_t product = env.product_with_photos("p", {2'500'000}, &photos);
  HostProcess host(env.env);
  const size_t chunk = 128 * 1024;  // the extension's
  std::string blob = host.result_of("products.get", {{"product_id", product}})["images"][0]["blob"];
  size_t count = (photos[0].size() + chunk - 1) / chunk;
  std::string batch;
  for (size_t i = 0; i < count; ++i) {
    batch += frame_of(json{{"jsonrpc", "2.0"},
                           {"id", 100 + i},
                           {"method", "blobs.read"},
                           {"params", {{"blob", blob}, {"offset", i * chunk}, {"length", chunk}}}}
                          .dump());
  }
  host.send_raw(batch);
  std::string bytes;
  for (size_t i = 0; i < count; ++i) {
    auto reply = host.receive(10s);
    BOOST_REQUIRE_MESSAGE(reply.has_value(), "no reply; host stderr: " + host.stderr_text());
    BOOST_REQUIRE_MESSAGE(reply->contains("result"), reply->dump().substr(0, 300));
    BOOST_TEST((*reply)["id"] == 100 + i);
    const json& result = (*reply)["result"];
    BOOST_TEST(result["offset"] == i * chunk);
    BOOST_TEST(result["eof"] == (i + 1 == count));
    bytes += base64_decode(result["data"]);
  }
  BOOST_TEST((bytes == photos[0]));
  // Past the protocol's limit a request is refused, saying what is allowed.
  json refused =
      host.call("blobs.read", {{"blob", blob}, {"offset", 0}, {"length", 512 * 1024 + 1}});
  BOOST_TEST(refused["error"]["code"] == -32003);
  BOOST_TEST(refused["error"]["data"]["max_length"] == 512 * 1024);
}

BOOST_AUTO_TEST_CASE(a_number_out_of_range_is_a_parse_error_and_strands_no_later_frame) {
  HostEnv env;
  HostProcess host(env.env);
  // Both frames in one write: the second must not wait for input that never comes.
  host.send_raw(frame_of(R"({"jsonrpc":"2.0","id":1,"method":"hello","params":{"n":1e400}})") +
                frame_of(R"({"jsonrpc":"2.0","id":2,"method":"hello","params":{}})"));
  host.close_stdin();
  auto first = host.receive(5s);
  BOOST_REQUIRE_MESSAGE(first.has_value(), "no reply; host stderr: " + host.stderr_text());
  BOOST_TEST((*first)["error"]["code"] == -32700);
  BOOST_TEST((*first)["id"] == 1);  // the caller's request is settled, not left pending
  BOOST_TEST((*first)["error"]["message"].get<std::string>().find("out of range") !=
             std::string::npos);
  auto second = host.receive(5s);
  BOOST_REQUIRE_MESSAGE(second.has_value(), "request 2 was lost; stderr: " + host.stderr_text());
  BOOST_TEST((*second)["id"] == 2);
  BOOST_TEST((*second)["result"]["host"] == "stoflow-host");
  BOOST_TEST(host.wait_exit(5s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(a_message_of_millions_of_values_is_refused_before_it_costs_memory) {
  HostEnv env;
  HostProcess host(env.env);
  // 16 MiB of empty arrays once made the host peak at 663 MiB while parsing.
  std::string body = R"({"jsonrpc":"2.0","id":"big","method":"tasks.result","params":{"result":[)";
  const size_t arrays = 16 * 1024 * 1024 / 3;
  body.reserve(body.size() + arrays * 3 + 8);
  for (size_t i = 0; i < arrays; ++i) body += i == 0 ? "[]" : ",[]";
  body += "]}}";
  host.send_raw(frame_of(body));
  auto reply = host.receive(30s);
  BOOST_REQUIRE_MESSAGE(reply.has_value(), "no reply; host stderr: " + host.stderr_text());
  BOOST_TEST((*reply)["error"]["code"] == -32003);
  BOOST_TEST((*reply)["id"] == "big");
  still_serving(host);
  // The frame itself is held a few times over (read buffer, payload); its
  // values are never built. Sanitizer builds add their own shadow memory.
  int64_t peak_kib = host.peak_memory_kib();
  BOOST_TEST_MESSAGE("peak resident memory after a 16 MiB frame: " << peak_kib / 1024 << " MiB");
  BOOST_TEST(peak_kib > 0);
  BOOST_TEST(peak_kib < 300 * 1024);
}

BOOST_AUTO_TEST_CASE(operations_are_enqueued_by_name) {
  HostEnv env;
  int64_t product = env.product_with_photos("named", {500});
  HostProcess host(env.env);
  json unknown = host.call(
      "operations.enqueue",
      {{"platform", "vinted"}, {"operation", "explode_listing"}, {"product_id", product}});
  BOOST_TEST(unknown["error"]["code"] == -32602);
  BOOST_TEST(unknown["error"]["message"].get<std::string>().find("publish_product") !=
             std::string::npos);
  BOOST_TEST(host.call("operations.enqueue", {{"platform", "vinted"},
                                              {"operation", "publish_product"},
                                              {"product_id", product},
                                              {"params", "x"}})["error"]["code"] == -32602);
  json receipt = host.result_of(
      "operations.enqueue",
      {{"platform", "vinted"}, {"operation", "publish_product"}, {"product_id", product}});
  BOOST_TEST(receipt["status"] == "pending");
  json queue = host.result_of("queues.get", {{"queue_id", receipt["queue_id"]}});
  BOOST_TEST(queue["operation"] == "publish_product");
  // The alias and the generic name are one operation: a second is refused.
  json again = host.call("products.publish", {{"platform", "vinted"}, {"product_id", product}});
  BOOST_TEST(again["error"]["code"] == -32002);
  BOOST_TEST(again["error"]["data"]["queue_id"] == receipt["queue_id"]);
}

BOOST_AUTO_TEST_CASE(one_maintenance_pass_per_message_not_one_more_per_own_commit) {
  HostEnv env;
  env.env["STOFLOW_LOG_LEVEL"] = "debug";
  int64_t product = env.product_with_photos("passes", {500, 600, 700});
  BOOST_REQUIRE(env.cli({"publish", "vinted", std::to_string(product)}).exit_code == 0);
  HostProcess host(env.env);
  int messages = 0;
  for (int step = 0; step < 5; ++step) {
    json task = host.result_of("tasks.list")[0];
    host.result_of("tasks.result",
                   {{"task_id", task["id"]}, {"success", true}, {"result", vinted_response(task)}});
    messages += 2;  // each one commits, and each commit touches the watched signal file
  }
  host.close_stdin();
  BOOST_REQUIRE(host.wait_exit(5s).has_value());
  std::string log = host.stderr_text();
  int passes = 0;
  for (size_t at = log.find("maintenance pass"); at != std::string::npos;
       at = log.find("maintenance pass", at + 1)) {
    ++passes;
  }
  BOOST_TEST_MESSAGE(passes << " maintenance passes for " << messages << " messages");
  BOOST_TEST(passes >= messages);      // every message is followed by one
  BOOST_TEST(passes <= messages + 2);  // its own commits add none (start-up, end of input)
}

BOOST_AUTO_TEST_CASE(a_header_split_across_writes_is_reassembled) {
  HostEnv env;
  HostProcess host(env.env);
  std::string frame = frame_of(R"({"jsonrpc":"2.0","id":7,"method":"hello","params":{}})");
  host.send_raw(frame.substr(0, 2));
  std::this_thread::sleep_for(50ms);
  host.send_raw(frame.substr(2, 10));
  std::this_thread::sleep_for(50ms);
  host.send_raw(frame.substr(12));
  auto reply = host.receive(5s);
  BOOST_REQUIRE(reply);
  BOOST_TEST((*reply)["id"] == 7);
}

BOOST_AUTO_TEST_CASE(an_oversize_frame_is_refused_and_skipped) {
  HostEnv env;
  HostProcess host(env.env);
  const uint32_t size = 64u * 1024 * 1024 + 1;
  std::string header(reinterpret_cast<const char*>(&size), 4);
  host.send_raw(header);
  BOOST_TEST(error_code_of(host) == -32003);
  // The host skips the refused body and reads the next frame normally.
  std::string chunk(1024 * 1024, 'x');
  uint32_t left = size;
  while (left > 0) {
    uint32_t n = std::min<uint32_t>(left, static_cast<uint32_t>(chunk.size()));
    host.send_raw(chunk.substr(0, n));
    left -= n;
  }
  still_serving(host);
}

BOOST_AUTO_TEST_CASE(a_truncated_length_at_end_of_input_is_reported_then_the_host_exits) {
  HostEnv env;
  HostProcess host(env.env);
  host.send_raw(std::string("\x10\x00", 2));
  host.close_stdin();
  BOOST_TEST(error_code_of(host) == -32700);
  BOOST_TEST(host.wait_exit(5s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(exits_promptly_on_end_of_input_and_on_sigterm) {
  HostEnv env;
  {
    HostProcess host(env.env);
    still_serving(host);
    host.close_stdin();
    BOOST_TEST(host.wait_exit(3s).value_or(-1) == 0);
  }
  {
    HostProcess host(env.env);
    still_serving(host);
    host.signal(SIGTERM);
    BOOST_TEST(host.wait_exit(3s).has_value());
  }
}

BOOST_AUTO_TEST_CASE(only_our_extension_may_start_it) {
  HostEnv env;
  {
    HostProcess stranger(env.env, {"chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"});
    auto exit = stranger.wait_exit(5s);
    BOOST_TEST(exit.has_value());
    BOOST_TEST(exit.value_or(0) != 0);
    BOOST_TEST(!stranger.receive(200ms).has_value());
    BOOST_TEST(stranger.stderr_text().find("refusing") != std::string::npos);
  }
  {
    HostProcess firefox(
        env.env, {(env.dir / "com.stoflow.companion.json").string(), "companion@stoflow.app"});
    still_serving(firefox);
  }
  {
    HostProcess other_addon(env.env, {(env.dir / "x.json").string(), "evil@example.org"});
    BOOST_TEST(other_addon.wait_exit(5s).value_or(0) != 0);
  }
}

BOOST_AUTO_TEST_CASE(logs_never_reach_the_protocol_stream) {
  HostEnv env;
  env.env["STOFLOW_LOG_LEVEL"] = "debug";
  int64_t product = env.product_with_photos("logs", {800});
  HostProcess host(env.env);
  host.result_of("products.publish", {{"platform", "vinted"}, {"product_id", product}});
  // Every frame parses as JSON-RPC: the info logs of the publish went elsewhere.
  auto note = host.wait_notification("tasks.available", 5s);
  BOOST_TEST(note.has_value());
  host.close_stdin();
  host.wait_exit(5s);
  BOOST_TEST(host.stderr_text().find("queued vinted publish") != std::string::npos);
  auto log_file = env.dir / "data" / "logs" / "stoflow-host.log";
  BOOST_TEST(stoflow::testing::read_file(log_file).find("queued vinted publish") !=
             std::string::npos);
  // It names the seller's products: private like the database.
  using std::filesystem::perms;
  auto mode = [](const std::filesystem::path& p) {
    return static_cast<unsigned>(std::filesystem::status(p).permissions() & perms::all);
  };
  if (!stoflow::testing::windows_host()) {  // no POSIX modes on Windows: see platform/files.h
    BOOST_TEST(mode(log_file) == 0600u);
    BOOST_TEST(mode(log_file.parent_path()) == 0700u);
  }
}

BOOST_AUTO_TEST_SUITE_END()
