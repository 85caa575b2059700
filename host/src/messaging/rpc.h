#pragma once
// JSON-RPC 2.0 envelope around the service: validates the request object,
// dispatches, and turns every failure into an error object. A bad message is
// answered and forgotten; it never ends the connection.
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "service/service.h"
#include "util/errors.h"

namespace stoflow::messaging {

nlohmann::json rpc_error(const nlohmann::json& id, ErrorCode code, const std::string& message,
                         const nlohmann::json& data = nullptr);
nlohmann::json rpc_notification(const std::string& method, const nlohmann::json& params);

// Serialises for the wire; invalid UTF-8 from the database is replaced rather
// than allowed to abort the reply.
std::string to_wire(const nlohmann::json& message);

// The wire form of a successful blobs.read reply: the bytes to_wire gives for
// the same reply as JSON, with the base64 appended straight into the text
// instead of going through the JSON serialiser's escaping scan, which cost
// twice the encoding itself.
std::string blob_chunk_wire(const nlohmann::json& id, const service::BlobChunk& chunk);

// The "id" of the outermost object of a message that did not parse, when it
// can be read anyway (a request whose params hold 1e400 still says which
// request it was). The reply then settles the caller's request instead of
// leaving it pending until its timeout.
std::optional<nlohmann::json> recover_request_id(std::string_view text);

class RpcHandler {
 public:
  RpcHandler(service::Service& service, service::Caller caller)
      : service_(service), caller_(std::move(caller)) {}

  // The reply to one incoming message, or nullopt when none is due (a
  // response object sent to us).
  std::optional<nlohmann::json> handle(std::string_view payload);
  // The same reply already in its wire form (to_wire), made without the
  // intermediate JSON for blobs.read: what the native host sends.
  std::optional<std::string> handle_wire(std::string_view payload);
  // Name of the last method successfully dispatched (for the transport's bookkeeping).
  const std::string& last_method() const { return last_method_; }
  // A method of this transport only (the native host's blobs.open), served
  // before the service's methods.
  using LocalMethod = std::function<nlohmann::json(const nlohmann::json& params)>;
  void add_method(const std::string& name, LocalMethod method) {
    local_methods_[name] = std::move(method);
  }

 private:
  struct Request {
    nlohmann::json id;
    std::string method;
    nlohmann::json params;
  };
  // A valid request, or the reply (possibly none) to one that is not.
  std::variant<Request, std::optional<nlohmann::json>> check(std::string_view payload);
  nlohmann::json dispatch(const nlohmann::json& id, const std::string& method,
                          const nlohmann::json& params);
  service::Service& service_;
  service::Caller caller_;
  std::string last_method_;
  std::map<std::string, LocalMethod> local_methods_;
};

}  // namespace stoflow::messaging
