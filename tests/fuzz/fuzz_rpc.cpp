// Fuzzes the native-messaging front end: the input is the byte stream a
// browser writes to the host's stdin. It goes through the real FrameDecoder
// and every complete frame through the real RpcHandler over a real Service and
// SQLite database, as NativeHost does (messaging/native_host.cpp).
//
// Invariants, each a trap when broken:
//  - decoding does not depend on how the stream was split into reads;
//  - handle() never throws: a bad message is answered, never fatal;
//  - a message gets exactly one reply, a valid JSON-RPC 2.0 object that
//    carries the request's id whenever the request had a usable one (a
//    refused message: null or the id recover_request_id reads from its text),
//    and no reply only when it was a response object (which the host ignores);
//  - no reply is an internal error (-32603): the database here is healthy, so
//    one means an exception escaped the checks;
//  - the frame the host would send fits in 1 MiB and is valid UTF-8 JSON;
//  - tasks.list hands out at most one step per platform, each leased.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

#include "fuzz_support.h"
#include "messaging/framing.h"
#include "messaging/rpc.h"
#include "photos.h"
#include "service/service.h"
#include "util/errors.h"
#include "util/json_input.h"

using namespace stoflow;
using nlohmann::json;

namespace {

struct Fixture {
  std::filesystem::path dir = fuzz::make_fixture_dir("rpc");
  service::Service service{service::Config::from_environment(dir / "data" / "stoflow.db")};
  std::unique_ptr<fuzz::DbSnapshot> snapshot;

  // The state every input starts from (the seed corpus names these ids):
  // product 1 (two photos) published on vinted as queue 1, its first step
  // task 1 pending; product 2 (one photo) ready to publish; product 3 lacks
  // what vinted needs; task 2 is a legacy etsy step without a queue.
  Fixture() {
    auto photos = dir / "catalogue";
    fuzz::write_bytes(photos / "front.png", testing::png_bytes(700, 1));
    fuzz::write_bytes(photos / "back.jpg", testing::jpeg_like_bytes(1500, 2));
    fuzz::write_bytes(photos / "tag.webp", testing::webp_like_bytes(400, 3));
    json vinted = {{"catalog_id", 1839}, {"brand_id", 53},       {"size_id", 207},
                   {"status_id", 2},     {"color_ids", {9, 12}}, {"package_size_id", 2}};
    json products = json::array({
        {{"title", "Levi's 501"},
         {"description", "Worn twice."},
         {"price_cents", 2790},
         {"currency", "EUR"},
         {"images", {"front.png", "back.jpg"}},
         {"vinted", vinted}},
        {{"title", "Scarf"},
         {"description", "Wool, \u00e9t\u00e9 2023 \xF0\x9F\xA7\xA3"},
         {"price_cents", 1200},
         {"images", {"tag.webp"}},
         {"vinted", vinted}},
        {{"title", "Incomplete"}, {"price_cents", 0}, {"images", json::array()}},
    });
    service.import_products(products, photos);
    service.invoke("products.publish", {{"platform", "vinted"}, {"product_id", 1}},
                   {"fuzz-fixture", "fuzz"});
    service.engine().enqueue_legacy({"etsy", "legacy_sync", "GET", "/v3/application/shops/1",
                                     workflow::BodyKind::kNone, json::object()});
    snapshot = std::make_unique<fuzz::DbSnapshot>(service.db().handle());
  }
};

Fixture* fixture = nullptr;
// STOFLOW_FUZZ_TRACE=1 prints each request and its reply: for reading what a
// saved input does (run the binary on that one file).
bool trace = false;

const std::set<int> kErrorCodes = {-32700, -32600, -32601, -32602, -32603, -32000,
                                   -32001, -32002, -32003, -32004, -32005, -32006};

struct Event {
  messaging::FrameEvent::Kind kind;
  uint64_t declared;
  std::string payload;
  bool operator==(const Event&) const = default;
};

void drain(messaging::FrameDecoder& decoder, std::vector<Event>& out) {
  while (auto e = decoder.next()) out.push_back({e->kind, e->declared, std::move(e->payload)});
}

// The same stream through two decoders: whole, and in pieces whose sizes
// come from a small generator seeded by the input (deterministic per input).
void check_split_independence(std::string_view bytes, uint64_t max_frame) {
  messaging::FrameDecoder whole(max_frame), split(max_frame);
  std::vector<Event> a, b;
  whole.feed(bytes);
  drain(whole, a);
  uint32_t state = 2166136261u ^ static_cast<uint32_t>(bytes.size());
  size_t at = 0;
  while (at < bytes.size()) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    size_t piece = 1 + state % 7;
    if (state & 0x100) piece = 1 + state % 300;
    piece = std::min(piece, bytes.size() - at);
    split.feed(bytes.substr(at, piece));
    drain(split, b);  // interleaved with feeding, as the host's event loop does
    at += piece;
  }
  if (a != b || whole.mid_frame() != split.mid_frame()) {
    fuzz::fail("the frames depend on how the stream was split");
  }
}

// What NativeHost::send puts on the wire for `reply`.
std::string wire_frame(const json& reply) {
  try {
    return messaging::encode_frame(messaging::to_wire(reply));
  } catch (const AppError& e) {
    if (e.code() != ErrorCode::kTooLarge) fuzz::fail("encode_frame threw", e.what());
    json id = reply.contains("id") ? reply["id"] : json(nullptr);
    return messaging::encode_frame(
        messaging::to_wire(messaging::rpc_error(id, e.code(), e.what())));
  }
}

void check_frame(const json& reply) {
  std::string frame = wire_frame(reply);
  if (frame.size() > 4 + messaging::kMaxOutgoingFrame) fuzz::fail("a reply frame over 1 MiB");
  json back = json::parse(frame.begin() + 4, frame.end(), nullptr, false);
  if (back.is_discarded() || !back.is_object()) {
    fuzz::fail("the reply frame is not valid UTF-8 JSON", frame.substr(4));
  }
}

void check_tasks(const json& tasks, const json& params) {
  if (!tasks.is_array()) fuzz::fail("tasks.list did not return an array", tasks.dump());
  int64_t limit = 10;
  if (params.is_object() && params.contains("limit") && params["limit"].is_number_integer()) {
    limit = params["limit"].get<int64_t>();
  }
  if (static_cast<int64_t>(tasks.size()) > limit) fuzz::fail("tasks.list over its limit");
  std::set<std::string> platforms;
  for (const auto& task : tasks) {
    if (!task.is_object() || !task["id"].is_number_integer() || !task["platform"].is_string() ||
        task["status"] != "processing") {
      fuzz::fail("tasks.list returned a task that is not leased", task.dump());
    }
    if (!platforms.insert(task["platform"].get<std::string>()).second) {
      fuzz::fail("tasks.list returned two steps of one platform", tasks.dump());
    }
  }
}

void check_reply(std::string_view payload, const std::optional<json>& reply) {
  // Our own reading of the request, where it is safe to parse at all.
  json request;
  if (!payload.empty() && !nests_deeper_than(payload, kMaxJsonDepth)) {
    request = json::parse(payload.begin(), payload.end(), nullptr, false);
  }
  const bool is_object = request.is_object();
  if (!reply) {
    bool response_object = is_object && !request.contains("method") &&
                           (request.contains("result") || request.contains("error"));
    if (!response_object) fuzz::fail("a message got no reply", payload);
    return;
  }
  const json& r = *reply;
  if (!r.is_object() || r.value("jsonrpc", json()) != "2.0" || !r.contains("id")) {
    fuzz::fail("a reply that is not a JSON-RPC 2.0 object", r.dump());
  }
  if (r.contains("result") == r.contains("error")) {
    fuzz::fail("a reply needs exactly one of result and error", r.dump());
  }
  const json& id = r["id"];
  if (!id.is_null() && !id.is_string() && !id.is_number_integer()) {
    fuzz::fail("a reply id that is neither null, a string nor an integer", r.dump());
  }
  if (is_object && request.contains("id") &&
      (request["id"].is_string() || request["id"].is_number_integer())) {
    if (id != request["id"]) fuzz::fail("the reply does not carry the request's id", r.dump());
  } else if (is_object) {
    if (!id.is_null()) fuzz::fail("a reply id for a request without a usable id", r.dump());
  } else if (!id.is_null() && id != messaging::recover_request_id(payload)) {
    // A refused message keeps the id that can be read from its text anyway.
    fuzz::fail("a refused message answered with an id that is not its own", r.dump());
  }
  if (r.contains("error")) {
    const json& e = r["error"];
    if (!e.is_object() || !e["code"].is_number_integer() || !e["message"].is_string() ||
        !e["data"].is_object() || !e["data"]["kind"].is_string() ||
        !kErrorCodes.contains(e["code"].get<int>())) {
      fuzz::fail("a malformed error object", r.dump());
    }
    if (e["code"] == -32603) fuzz::fail("an internal error", r.dump());
  } else if (is_object && request["method"] == "tasks.list") {
    check_tasks(r["result"], request.value("params", json()));
  }
  check_frame(r);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  trace = std::getenv("STOFLOW_FUZZ_TRACE") != nullptr;
  fixture = new Fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_split_independence(bytes, messaging::kMaxIncomingFrame);
  check_split_independence(bytes, 64);  // the oversize path, whose body is skipped unread

  messaging::FrameDecoder decoder;
  decoder.feed(bytes);
  // One connection per input: what it leased is released with it, as at the
  // end of a real connection, so the next input finds the fixture's state.
  messaging::RpcHandler rpc(fixture->service, {"fuzz-connection", "fuzz"});
  while (auto event = decoder.next()) {
    if (event->kind == messaging::FrameEvent::Kind::kOversize) {
      check_frame(messaging::rpc_error(nullptr, ErrorCode::kTooLarge, "message refused"));
      continue;
    }
    std::optional<json> reply;
    try {
      reply = rpc.handle(event->payload);
    } catch (const std::exception& e) {
      // The stdio loop would log it and send nothing: the request goes unanswered.
      fuzz::fail("RpcHandler::handle threw", e.what());
    }
    if (trace) {
      std::fprintf(stderr, ">> %s\n<< %s\n", event->payload.c_str(),
                   reply ? messaging::to_wire(*reply).c_str() : "(no reply)");
    }
    check_reply(event->payload, reply);
  }
  fixture->service.engine().release_owner("fuzz-connection", "end of the fuzz input");
  fixture->snapshot->restore_if_changed();
  return 0;
}
