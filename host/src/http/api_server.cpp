#include "http/api_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>

#include "http/dashboard_assets.h"
#include "http/error_body.h"
#include "service/error_reply.h"
#include "store/database.h"
#include "util/errors.h"
#include "util/json_input.h"
#include "util/log.h"
#include "util/paths.h"

namespace stoflow::http {

using nlohmann::json;

namespace {

int http_status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kParseError:
    case ErrorCode::kInvalidRequest:
    case ErrorCode::kInvalidParams:
      return 400;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kNotFound:
    case ErrorCode::kMethodNotFound:
      return 404;
    case ErrorCode::kNotInFlight:
    case ErrorCode::kWrongState:
      return 409;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kIncomplete:
      return 422;
    case ErrorCode::kFetchFailed:
      return 502;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, ErrorCode code, const std::string& message,
                const json& data = nullptr) {
  send_json(res, http_status_for(code), error_body(code, message, data));
}

json parse_body(const httplib::Request& req) {
  if (req.body.empty()) return json::object();
  try {
    return parse_external_json(req.body);
  } catch (const AppError& e) {
    throw AppError(e.code(), std::string("the request body is refused: ") + e.what());
  }
}

int64_t path_id(const httplib::Request& req, const char* what) {
  const std::string& text = req.matches[1];
  try {
    size_t used = 0;
    int64_t id = std::stoll(text, &used);
    if (used == text.size() && id > 0) return id;
  } catch (const std::exception&) {
  }
  throw invalid_params(std::string(what) + " must be a positive whole number");
}

// Query parameters arrive as text; the service wants typed params.
json query_params(const httplib::Request& req, std::initializer_list<const char*> integers,
                  std::initializer_list<const char*> strings) {
  json params = json::object();
  for (const char* key : integers) {
    if (!req.has_param(key)) continue;
    std::string text = req.get_param_value(key);
    try {
      size_t used = 0;
      int64_t value = std::stoll(text, &used);
      if (used != text.size()) throw std::invalid_argument(key);
      params[key] = value;
    } catch (const std::exception&) {
      throw AppError(ErrorCode::kInvalidParams,
                     std::string("\"") + key + "\" must be a whole number", json{{"param", key}});
    }
  }
  for (const char* key : strings) {
    if (req.has_param(key)) params[key] = req.get_param_value(key);
  }
  return params;
}

ScreenerLimits screener_limits() {
  ScreenerLimits limits;
  // For tests, which cannot wait ten seconds for every deadline.
  int64_t deadline_ms = env_int("STOFLOW_HTTP_REQUEST_DEADLINE_MS", kRequestDeadline.count());
  if (deadline_ms > 0) limits.deadline = std::chrono::milliseconds(deadline_ms);
  // Waiting connections must leave descriptors for the database, photo
  // downloads and the connections being answered.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    limits.max_connections = std::clamp<size_t>(files.rlim_cur / 2, 16, kMaxScreenedConnections);
  }
  return limits;
}

// Gives httplib's own refusals (no route, body too large, bad request line)
// the JSON error shape of every other answer.
httplib::Server::HandlerResponse json_error_body(const httplib::Request& req,
                                                 httplib::Response& res) {
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  int status = res.status;
  if (status == 404) {
    send_error(res, ErrorCode::kMethodNotFound,
               "no such endpoint: " + req.method + " " + req.path + " (see docs/http-api.md)");
  } else if (status == 413) {
    send_error(res, ErrorCode::kTooLarge,
               "the request body is over " + std::to_string(kMaxRequestBytes) + " bytes");
  } else if (status < 500) {
    send_error(res, ErrorCode::kInvalidRequest, "malformed HTTP request");
  } else {
    send_error(res, ErrorCode::kInternal, "internal error");
  }
  res.status = status;
  return httplib::Server::HandlerResponse::Handled;
}

}  // namespace

ApiServer::ApiServer(service::Service& service, std::string token,
                     std::filesystem::path login_code_dir)
    : service_(service),
      access_(std::move(token), 0),
      owner_(store::owners_dir_for(service.db_path())),
      caller_{owner_.id(), "http", true},
      screener_(screener_limits(),
                [this](const RequestHead& head) { return authenticated(head); }) {
  server_.set_payload_max_length(kMaxRequestBytes);
  server_.set_error_handler(httplib::Server::HandlerWithResponse(json_error_body));
  access_.set_login_code_dir(login_code_dir);
  server_.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return screen(req, res); });
  server_.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        send_error(res, ErrorCode::kInternal, "internal error");
      });
  add_routes();
}

ApiServer::~ApiServer() {
  stop();
  if (maintenance_.joinable()) maintenance_.join();
}

int ApiServer::bind(int port) {
  int bound = screener_.listen(port);
  if (bound > 0) access_.set_port(bound);
  return bound;
}

// Workers only ever get requests that have arrived, so a few slow photo
// imports are all that can keep them from the executor's polls.
void ApiServer::run() {
  maintenance_ = std::thread([this] { maintain_until_stopped(); });
  httplib::ThreadPool workers(kWorkerThreads);
  auto dispatch = [&](std::unique_ptr<ScreenedStream> stream) {
    std::shared_ptr<ScreenedStream> request = std::move(stream);
    workers.enqueue([this, request] {
      // A request still queued at stop() is dropped unanswered, not half done.
      if (!screener_.stopped()) server_.serve(*request);
    });
  };
  try {
    screener_.run(dispatch);
  } catch (...) {
    workers.shutdown();
    stopping_ = true;
    throw;
  }
  workers.shutdown();
  stopping_ = true;
}

void ApiServer::stop() {
  stopping_ = true;
  screener_.stop();
}

// The screener's question, before a worker is spent on a large body: the
// same credentials screen() accepts.
bool ApiServer::authenticated(const RequestHead& head) {
  return credentials_ok(head.header("Authorization"), head.header(kSessionHeader));
}

bool ApiServer::credentials_ok(const std::string& authorization, const std::string& session) {
  return access_.bearer_ok(authorization) || access_.session_ok(session);
}

void ApiServer::maintain_until_stopped() {
  while (!stopping_) {
    try {
      std::lock_guard lock(service_mutex_);
      service_.engine().expire_leases();
      service_.recover_dead_hosts(owner_.id());
    } catch (const std::exception& e) {
      log::error(std::string("HTTP maintenance failed: ") + e.what());
    }
    for (int i = 0; i < 10 && !stopping_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::lock_guard lock(service_mutex_);
  service_.engine().release_owner(owner_.id(), "the HTTP server stopped");
}

// Runs before routing: Host check for everything (DNS rebinding), then
// authentication for the API. No CORS headers are ever sent.
httplib::Server::HandlerResponse ApiServer::screen(const httplib::Request& req,
                                                   httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  if (req.get_header_value_count("Host") > 1) {
    send_error(res, ErrorCode::kInvalidRequest, "more than one Host header");
    return R::Handled;
  }
  if (!access_.host_allowed(req.get_header_value("Host"))) {
    send_error(res, ErrorCode::kForbidden,
               "requests must be addressed to 127.0.0.1:" + std::to_string(access_.port()) +
                   " or localhost");
    return R::Handled;
  }
  if (req.method == "OPTIONS") {
    send_error(res, ErrorCode::kForbidden, "cross-origin requests are not allowed");
    return R::Handled;
  }
  // The size limit only holds for bodies announced with Content-Length:
  // chunked or compressed bodies would be read whole. Browsers and curl send
  // a length for the bodies this API takes.
  if (req.has_header("Transfer-Encoding")) {
    send_error(res, ErrorCode::kInvalidRequest,
               "chunked request bodies are not accepted: send a Content-Length");
    res.status = 411;
    return R::Handled;
  }
  if (req.has_header("Content-Encoding")) {
    send_error(res, ErrorCode::kInvalidRequest, "compressed request bodies are not accepted");
    res.status = 415;
    return R::Handled;
  }
  if (req.path.rfind("/api/", 0) != 0) return R::Unhandled;
  // The one-time code is the credential of the session exchange itself; its
  // body is read before anyone is authenticated, so it is kept tiny.
  if (req.path == "/api/dashboard/session") {
    std::string length = req.get_header_value("Content-Length");
    if (std::strtoull(length.c_str(), nullptr, 10) > kMaxSessionRequestBytes) {
      send_error(res, ErrorCode::kTooLarge, "a login request is a few bytes");
      return R::Handled;
    }
    return R::Unhandled;
  }
  if (!credentials_ok(req.get_header_value("Authorization"),
                      req.get_header_value(kSessionHeader))) {
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, ErrorCode::kForbidden,
               "missing or wrong token: send \"Authorization: Bearer <token>\" (the token is in " +
                   default_token_path().string() + ")");
    res.status = 401;
    return R::Handled;
  }
  return R::Unhandled;
}

json ApiServer::call(const std::string& method, const json& params) {
  std::lock_guard lock(service_mutex_);
  return service_.invoke(method, params, caller_);
}

void ApiServer::add_json(const char* method, const std::string& pattern, Handler handler) {
  auto wrapped = [handler = std::move(handler)](const httplib::Request& req,
                                                httplib::Response& res) {
    try {
      send_json(res, 200, handler(req));
    } catch (const std::exception& e) {
      auto reply = service::error_reply(e, "HTTP " + req.method + " " + req.path);
      send_error(res, reply.code, reply.message, reply.data);
    }
  };
  std::string m = method;
  if (m == "GET")
    server_.Get(pattern, wrapped);
  else if (m == "POST")
    server_.Post(pattern, wrapped);
  else if (m == "PATCH")
    server_.Patch(pattern, wrapped);
  else
    throw std::logic_error("unsupported method " + m);
}

void ApiServer::add_routes() {
  // The seed's three endpoints, with the seed's bodies and responses.
  add_json("POST", R"(/api/(vinted|ebay|etsy)/publish)", [this](const httplib::Request& req) {
    json body = parse_body(req);
    if (!body.is_object()) throw invalid_params("the body must be a JSON object");
    json receipt = call("products.publish", {{"platform", req.matches[1]},
                                             {"product_id", body.value("product_id", json())}});
    receipt[std::string(req.matches[1]) + "_product_id"] = receipt["listing_id"];
    return receipt;
  });
  add_json("GET", "/api/plugin/tasks", [this](const httplib::Request& req) {
    return call("tasks.list", query_params(req, {"limit"}, {}));
  });
  add_json("POST", R"(/api/plugin/tasks/([^/]+)/result)", [this](const httplib::Request& req) {
    json body = parse_body(req);
    if (!body.is_object()) throw invalid_params("the body must be a JSON object");
    body["task_id"] = path_id(req, "task id");
    return call("tasks.result", body);
  });

  add_json("GET", "/api/health",
           [this](const httplib::Request&) { return call("hello", json::object()); });
  add_json("GET", "/api/products", [this](const httplib::Request& req) {
    return call("products.list", query_params(req, {"limit", "after_id"}, {}));
  });
  add_json("GET", R"(/api/products/([^/]+))", [this](const httplib::Request& req) {
    return call("products.get", {{"product_id", path_id(req, "product id")}});
  });
  // Photos by URL only, as for import: the body is products.update's fields.
  add_json("PATCH", R"(/api/products/([^/]+))", [this](const httplib::Request& req) {
    json body = parse_body(req);
    if (!body.is_object()) throw invalid_params("the body must be a JSON object of changes");
    if (body.contains("product_id")) {
      throw invalid_params("the product is named by the path, not by \"product_id\"");
    }
    body["product_id"] = path_id(req, "product id");
    if (body.contains("images")) {
      // Photo downloads run on a connection of their own, as import's do.
      service::Service updater(service::Config::from_environment(service_.db_path()));
      return updater.invoke("products.update", body, caller_);
    }
    return call("products.update", body);
  });
  add_json("POST", "/api/products/import", [this](const httplib::Request& req) {
    json body = parse_body(req);
    json products = body.is_object() && body.contains("products") ? body["products"] : body;
    // Downloads may take a minute: they run on a connection of their own,
    // so the shared service keeps answering the executor meanwhile.
    service::Service importer(service::Config::from_environment(service_.db_path()));
    // No base directory: over HTTP only photo URLs are accepted, never local paths.
    return json{{"product_ids", importer.import_products(products, std::nullopt)}};
  });
  add_json("POST", "/api/products/publish", [this](const httplib::Request& req) {
    json body = parse_body(req);
    auto ids = body.is_object() ? body.find("product_ids") : body.end();
    if (!body.is_object() || ids == body.end() || !ids->is_array()) {
      throw invalid_params("the body must be {\"platform\": ..., \"product_ids\": [...]}");
    }
    json platform = body.contains("platform") ? body["platform"] : json("vinted");
    json results = json::array();
    for (const auto& id : *ids) {
      try {
        results.push_back(call("products.publish", {{"platform", platform}, {"product_id", id}}));
      } catch (const AppError& e) {
        json data = e.data().is_object() ? e.data() : json::object();
        data["kind"] = error_kind(e.code());
        results.push_back(
            {{"product_id", id},
             {"error",
              {{"code", static_cast<int>(e.code())}, {"message", e.what()}, {"data", data}}}});
      }
    }
    return results;
  });
  add_json("POST", "/api/operations", [this](const httplib::Request& req) {
    json body = parse_body(req);
    if (!body.is_object()) {
      throw invalid_params(
          "the body must be {\"platform\": ..., \"operation\": ..., \"product_id\": ...}");
    }
    return call("operations.enqueue", body);
  });
  add_json("GET", "/api/queues", [this](const httplib::Request& req) {
    return call("queues.list",
                query_params(req, {"product_id", "limit", "before_id"}, {"status", "platform"}));
  });
  add_json("GET", R"(/api/queues/([^/]+))", [this](const httplib::Request& req) {
    return call("queues.get", {{"queue_id", path_id(req, "queue id")}});
  });
  for (const char* action : {"retry", "cancel", "resume"}) {
    add_json(
        "POST", std::string(R"(/api/queues/([^/]+)/)") + action,
        [this, action](const httplib::Request& req) {
          return call(std::string("queues.") + action, {{"queue_id", path_id(req, "queue id")}});
        });
  }
  add_json("GET", "/api/listings", [this](const httplib::Request& req) {
    return call("listings.list",
                query_params(req, {"product_id", "limit", "after_id"}, {"platform", "status"}));
  });
  add_json("POST", "/api/dashboard/login-codes", [this](const httplib::Request&) {
    std::string code = access_.create_login_code();
    return json{
        {"code", code},
        {"url", "http://127.0.0.1:" + std::to_string(access_.port()) + "/login.html?code=" + code}};
  });

  // Photos for the dashboard's thumbnails: only digests in the blob store.
  server_.Get(R"(/api/blobs/([0-9a-f]{64}))",
              [this](const httplib::Request& req, httplib::Response& res) {
                try {
                  std::lock_guard lock(service_mutex_);
                  auto [type, bytes] = service_.read_photo(std::string(req.matches[1]));
                  res.set_header("Cache-Control", "private, max-age=86400, immutable");
                  res.set_content(bytes, type.c_str());
                } catch (const AppError& e) {
                  send_error(res, e.code(), e.what());
                }
              });

  server_.Get("/favicon.ico",
              [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  add_json("POST", "/api/dashboard/session", [this](const httplib::Request& req) {
    json body = parse_body(req);
    auto field = body.is_object() ? body.find("code") : body.end();
    if (field == body.end() || !field->is_string()) {
      throw AppError(ErrorCode::kInvalidParams, "the body must be {\"code\": \"...\"}",
                     json{{"param", "code"}});
    }
    std::string code = *field;
    auto session = access_.redeem_login_code(code);
    if (!session) {
      throw AppError(ErrorCode::kForbidden,
                     "this login link is used or expired: run `stoflow-host dashboard` again");
    }
    return json{{"session", *session}};
  });
  for (const auto& asset : dashboard_assets()) {
    server_.Get(asset.path, [&asset](const httplib::Request&, httplib::Response& res) {
      res.set_header(
          "Content-Security-Policy",
          "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; "
          "connect-src 'self'; frame-ancestors 'none'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_content(std::string(asset.content), asset.content_type);
    });
  }
}

}  // namespace stoflow::http
