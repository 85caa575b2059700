#pragma once
// JSON-RPC 2.0 envelope around the service: validates the request object,
// dispatches, and turns every failure into an error object. A bad message is
// answered and forgotten; it never ends the connection.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "service/service.h"
#include "util/errors.h"

namespace stoflow::messaging {

nlohmann::json rpc_error(const nlohmann::json& id, ErrorCode code, const std::string& message,
                         const nlohmann::json& data = nullptr);
nlohmann::json rpc_notification(const std::string& method, const nlohmann::json& params);

// Serialises for the wire; invalid UTF-8 from the database is replaced rather
// than allowed to abort the reply.
std::string to_wire(const nlohmann::json& message);

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
  // Name of the last method successfully dispatched (for the transport's bookkeeping).
  const std::string& last_method() const { return last_method_; }

 private:
  nlohmann::json dispatch(const nlohmann::json& id, const std::string& method,
                          const nlohmann::json& params);
  service::Service& service_;
  service::Caller caller_;
  std::string last_method_;
};

}  // namespace stoflow::messaging
