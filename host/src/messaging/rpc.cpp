#include "messaging/rpc.h"

#include "service/error_reply.h"
#include "util/crypto.h"
#include "util/json_input.h"
#include "util/log.h"

namespace stoflow::messaging {

using nlohmann::json;

namespace {
// Error texts may quote the offending input; keep them valid UTF-8.
std::string printable(const std::string& text) {
  std::string quoted = json(text).dump(-1, ' ', false, json::error_handler_t::replace);
  return json::parse(quoted).get<std::string>();
}

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t skip_space(std::string_view text, size_t at) {
  while (at < text.size() && is_json_space(text[at])) ++at;
  return at;
}

// Index just past the string literal that starts at `at` (a '"'), or npos.
size_t string_end(std::string_view text, size_t at) {
  for (size_t i = at + 1; i < text.size(); ++i) {
    if (text[i] == '\\')
      ++i;
    else if (text[i] == '"')
      return i + 1;
  }
  return std::string_view::npos;
}

// A string or an integer literal at `at`, as JSON-RPC allows for an id.
std::optional<json> id_literal(std::string_view text, size_t at) {
  if (at >= text.size()) return std::nullopt;
  size_t end = at;
  if (text[at] == '"') {
    end = string_end(text, at);
    if (end == std::string_view::npos) return std::nullopt;
  } else {
    while (end < text.size() && (text[end] == '-' || (text[end] >= '0' && text[end] <= '9'))) {
      ++end;
    }
  }
  // "1.5" or "1e3" must not pass as the integer before the dot.
  size_t next = skip_space(text, end);
  if (next >= text.size() || (text[next] != ',' && text[next] != '}')) return std::nullopt;
  json value = json::parse(text.substr(at, end - at), nullptr, false);
  if (value.is_string() || value.is_number_integer()) return value;
  return std::nullopt;
}
}  // namespace

std::optional<json> recover_request_id(std::string_view text) {
  size_t at = skip_space(text, 0);
  if (at >= text.size() || text[at] != '{') return std::nullopt;
  int depth = 0;
  for (; at < text.size(); ++at) {
    char c = text[at];
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth <= 0) return std::nullopt;
    } else if (c == '"') {
      size_t end = string_end(text, at);
      if (end == std::string_view::npos) return std::nullopt;
      // At depth 1, a string followed by ':' is one of the request's own keys.
      size_t colon = skip_space(text, end);
      if (depth == 1 && colon < text.size() && text[colon] == ':' &&
          text.substr(at, end - at) == "\"id\"") {
        return id_literal(text, skip_space(text, colon + 1));
      }
      at = end - 1;
    }
  }
  return std::nullopt;
}

json rpc_error(const json& id, ErrorCode code, const std::string& message, const json& data) {
  json error = {{"code", static_cast<int>(code)}, {"message", printable(message)}};
  json details = data.is_object() ? data : json::object();
  if (!data.is_null() && !data.is_object()) details["detail"] = data;
  details["kind"] = error_kind(code);
  error["data"] = details;
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", error}};
}

json rpc_notification(const std::string& method, const json& params) {
  return {{"jsonrpc", "2.0"}, {"method", method}, {"params", params}};
}

std::string to_wire(const json& message) {
  return message.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string blob_chunk_wire(const json& id, const service::BlobChunk& chunk) {
  // Keys in the order nlohmann::json keeps them (sorted), so the text is the
  // one to_wire gives. The digest is hex and base64 needs no escaping.
  std::string data = base64_encode(
      std::span(reinterpret_cast<const unsigned char*>(chunk.bytes.data()), chunk.bytes.size()));
  std::string head = "{\"id\":" + to_wire(id) + ",\"jsonrpc\":\"2.0\",\"result\":{\"blob\":\"" +
                     chunk.blob + "\",\"data\":\"";
  std::string tail = std::string("\",\"eof\":") + (chunk.eof() ? "true" : "false") +
                     ",\"length\":" + std::to_string(chunk.bytes.size()) +
                     ",\"offset\":" + std::to_string(chunk.offset) +
                     ",\"size\":" + std::to_string(chunk.size) + "}}";
  std::string wire;
  wire.reserve(head.size() + data.size() + tail.size());
  wire += head;
  wire += data;
  wire += tail;
  return wire;
}

std::optional<json> RpcHandler::handle(std::string_view payload) {
  auto checked = check(payload);
  if (auto* reply = std::get_if<std::optional<json>>(&checked)) return std::move(*reply);
  auto& request = std::get<Request>(checked);
  return dispatch(request.id, request.method, request.params);
}

std::optional<std::string> RpcHandler::handle_wire(std::string_view payload) {
  auto checked = check(payload);
  if (auto* reply = std::get_if<std::optional<json>>(&checked)) {
    if (!*reply) return std::nullopt;
    return to_wire(**reply);
  }
  auto& request = std::get<Request>(checked);
  if (request.method != "blobs.read") {
    return to_wire(dispatch(request.id, request.method, request.params));
  }
  try {
    std::string wire = blob_chunk_wire(request.id, service_.read_blob_chunk(request.params));
    last_method_ = request.method;
    return wire;
  } catch (const std::exception& e) {
    auto reply = service::error_reply(e, request.method);
    return to_wire(rpc_error(request.id, reply.code, reply.message, reply.data));
  }
}

std::variant<RpcHandler::Request, std::optional<json>> RpcHandler::check(std::string_view payload) {
  last_method_.clear();
  if (payload.empty()) {
    return rpc_error(nullptr, ErrorCode::kInvalidRequest, "empty message (length 0)");
  }
  json message;
  try {
    message = parse_external_json(payload);
  } catch (const AppError& e) {
    return rpc_error(recover_request_id(payload).value_or(nullptr), e.code(),
                     std::string("message refused: ") + e.what());
  }
  if (message.is_array()) {
    return rpc_error(nullptr, ErrorCode::kInvalidRequest,
                     "batch requests are not supported; send one request per message");
  }
  if (!message.is_object()) {
    return rpc_error(nullptr, ErrorCode::kInvalidRequest, "a message must be a JSON-RPC object");
  }
  json id = message.contains("id") ? message["id"] : json(nullptr);
  bool id_ok = id.is_number_integer() || id.is_string();
  if (message.contains("id") && !id_ok && !id.is_null()) {
    return rpc_error(nullptr, ErrorCode::kInvalidRequest, "\"id\" must be a string or an integer");
  }
  if (auto v = message.find("jsonrpc"); v == message.end() || *v != "2.0") {
    return rpc_error(id_ok ? id : json(nullptr), ErrorCode::kInvalidRequest,
                     "\"jsonrpc\" must be \"2.0\"");
  }
  auto method = message.find("method");
  if (method == message.end() && (message.contains("result") || message.contains("error"))) {
    log::warn("ignoring a response object: this host sends no requests");
    return std::nullopt;
  }
  if (method == message.end() || !method->is_string()) {
    return rpc_error(id_ok ? id : json(nullptr), ErrorCode::kInvalidRequest,
                     "\"method\" must be a string");
  }
  // Every method of ours returns something the caller needs, so a request
  // without an id is a client bug worth reporting rather than a notification.
  if (!id_ok) {
    return rpc_error(
        nullptr, ErrorCode::kInvalidRequest,
        "\"id\" is missing: every request needs one (this host takes no notifications)");
  }
  json params = message.contains("params") ? std::move(message["params"]) : json(nullptr);
  if (!params.is_null() && !params.is_object()) {
    return rpc_error(id, ErrorCode::kInvalidParams, "\"params\" must be an object");
  }
  return Request{std::move(id), method->get<std::string>(), std::move(params)};
}

json RpcHandler::dispatch(const json& id, const std::string& method, const json& params) {
  try {
    auto local = local_methods_.find(method);
    json result = local != local_methods_.end() ? local->second(params)
                                                : service_.invoke(method, params, caller_);
    last_method_ = method;
    return {{"jsonrpc", "2.0"}, {"id", id}, {"result", result}};
  } catch (const std::exception& e) {
    auto reply = service::error_reply(e, method);
    return rpc_error(id, reply.code, reply.message, reply.data);
  }
}

}  // namespace stoflow::messaging
