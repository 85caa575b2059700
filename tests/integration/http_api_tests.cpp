#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "harness.h"
#include "windows_run.h"

using namespace stoflow::testing;

namespace {

struct Api {
  ServeProcess& serve;
  httplib::Client client{"127.0.0.1", serve.port()};
  httplib::Headers auth() const { return {{"Authorization", "Bearer " + serve.token()}}; }

  std::pair<int, json> get(const std::string& path, httplib::Headers headers) {
    auto r = client.Get(path, headers);
    BOOST_REQUIRE_MESSAGE(r, "no response to GET " << path);
    return {r->status, r->body.empty() ? json() : json::parse(r->body)};
  }
  std::pair<int, json> get(const std::string& path) { return get(path, auth()); }
  std::pair<int, json> post(const std::string& path, const std::string& body) {
    auto r = client.Post(path, auth(), body, "application/json");
    BOOST_REQUIRE_MESSAGE(r, "no response to POST " << path);
    return {r->status, r->body.empty() ? json() : json::parse(r->body)};
  }
  std::pair<int, json> post(const std::string& path, const json& body) {
    return post(path, body.dump());
  }
};

// For what httplib's client will not send: duplicate headers, chunked bodies.
std::string raw_http(int port, const std::string& request) {
  int fd = connect_loopback(port);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  BOOST_REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
  ::close(fd);
  return response;
}

int status_of(const std::string& response) {
  return response.size() > 12 ? std::stoi(response.substr(9, 3)) : 0;
}

std::string integrity_of(const std::string& db_path) {
  sqlite3* db = nullptr;
  std::string verdict = "cannot open";
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      verdict = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    } else {
      verdict = sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return verdict;
}

json seed_result(const json& task) {
  std::string step = task["step"];
  if (step.rfind("upload_photo_", 0) == 0) return {{"photo_id", 700 + task["id"].get<int>()}};
  if (step == "create_draft") return {{"id", 42}};
  return {{"id", 987654321}, {"url", "https://www.vinted.fr/items/987654321"}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_api,
                      *not_yet_on_windows("serve (the HTTP server) is not built for Windows"))

BOOST_AUTO_TEST_CASE(the_seed_endpoints_publish_a_product_end_to_end) {
  HostEnv env;
  int64_t product = env.product_with_photos("http", {2000, 3000});
  ServeProcess serve(env);
  Api api{serve};

  auto [status, receipt] = api.post("/api/vinted/publish", json{{"product_id", product}});
  BOOST_TEST(status == 200);
  BOOST_TEST(receipt["product_id"] == product);
  BOOST_TEST(receipt["status"] == "pending");
  BOOST_TEST(receipt["vinted_product_id"].is_number());
  BOOST_TEST(receipt["message"].get<std::string>().find("queue #") != std::string::npos);

  json last;
  for (int step = 0; step < 4; ++step) {
    auto [s, tasks] = api.get("/api/plugin/tasks?limit=10");
    BOOST_TEST(s == 200);
    BOOST_REQUIRE_EQUAL(tasks.size(), 1u);
    const json& task = tasks[0];
    for (const char* key :
         {"id", "queue_id", "platform", "http_method", "path", "payload", "created_at"}) {
      BOOST_TEST(task.contains(key), key);
    }
    auto [rs, result] =
        api.post("/api/plugin/tasks/" + std::to_string(task["id"].get<int>()) + "/result",
                 json{{"success", true}, {"result", seed_result(task)}});
    BOOST_TEST(rs == 200);
    BOOST_TEST(result["success"] == true);
    BOOST_TEST(result["task_id"] == task["id"]);
    last = result;
  }
  BOOST_TEST(last["queue_status"] == "completed");
  BOOST_TEST(last["next_task_id"].is_null());
  auto [ls, listings] = api.get("/api/listings?product_id=" + std::to_string(product));
  BOOST_TEST(listings[0]["status"] == "published");
  BOOST_TEST(listings[0]["remote_id"] == "987654321");
}

BOOST_AUTO_TEST_CASE(the_retry_rule_holds_over_http) {
  HostEnv env;
  int64_t product = env.product_with_photos("retry", {2000});
  ServeProcess serve(env);
  Api api{serve};
  json receipt = api.post("/api/vinted/publish", json{{"product_id", product}}).second;
  json last;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    json task = api.get("/api/plugin/tasks").second[0];
    BOOST_TEST(task["attempt"] == attempt);
    last = api.post("/api/plugin/tasks/" + std::to_string(task["id"].get<int>()) + "/result",
                    json{{"success", false}, {"error_message", "Network timeout"}})
               .second;
  }
  BOOST_TEST(last["queue_status"] == "failed");
  auto [s, queue] = api.get("/api/queues/" + std::to_string(receipt["queue_id"].get<int>()));
  BOOST_TEST(queue["status"] == "failed");
  BOOST_TEST(queue["error_message"] == "Network timeout");
  auto [rs, retried] = api.post(
      "/api/queues/" + std::to_string(receipt["queue_id"].get<int>()) + "/retry", json::object());
  BOOST_TEST(rs == 200);
  BOOST_TEST(retried["status"] == "queued");
}

BOOST_AUTO_TEST_CASE(every_call_needs_the_token_and_our_host_name) {
  HostEnv env;
  ServeProcess serve(env);
  Api api{serve};
  BOOST_TEST(api.get("/api/queues", {}).first == 401);
  BOOST_TEST(api.get("/api/queues", {{"Authorization", "Bearer wrong"}}).first == 401);
  BOOST_TEST(api.get("/api/plugin/tasks", {}).first == 401);
  BOOST_TEST(api.get("/api/queues").first == 200);

  httplib::Headers rebinding = api.auth();
  rebinding.emplace("Host", "attacker.example:" + std::to_string(serve.port()));
  auto [status, body] = api.get("/api/queues", rebinding);
  BOOST_TEST(status == 403);
  BOOST_TEST(body["error"]["code"] == -32004);
  httplib::Headers other_port = api.auth();
  other_port.emplace("Host", "127.0.0.1:1");
  BOOST_TEST(api.get("/api/queues", other_port).first == 403);
  httplib::Headers localhost = api.auth();
  localhost.emplace("Host", "localhost:" + std::to_string(serve.port()));
  BOOST_TEST(api.get("/api/queues", localhost).first == 200);

  // No CORS, for anyone.
  httplib::Headers cors = api.auth();
  cors.emplace("Origin", "https://evil.example");
  auto r = api.client.Get("/api/queues", cors);
  BOOST_REQUIRE(r);
  BOOST_TEST(!r->has_header("Access-Control-Allow-Origin"));
  auto preflight = api.client.Options("/api/queues", {{"Origin", "https://evil.example"},
                                                      {"Access-Control-Request-Method", "POST"}});
  BOOST_REQUIRE(preflight);
  BOOST_TEST(preflight->status == 403);
  BOOST_TEST(!preflight->has_header("Access-Control-Allow-Origin"));
}

BOOST_AUTO_TEST_CASE(a_dashboard_login_code_works_once_and_gives_a_header_session) {
  HostEnv env;
  ServeProcess serve(env);
  Api api{serve};
  auto [status, login] = api.post("/api/dashboard/login-codes", json::object());
  BOOST_REQUIRE(status == 200);
  std::string code = login["code"];
  BOOST_TEST(login["url"].get<std::string>().find("/login.html?code=" + code) != std::string::npos);

  // The exchange needs no token: the code is the credential, once.
  auto first =
      api.client.Post("/api/dashboard/session", json{{"code", code}}.dump(), "application/json");
  BOOST_REQUIRE(first);
  BOOST_TEST(first->status == 200);
  BOOST_TEST(!first->has_header("Set-Cookie"));  // cookies ignore ports: no ambient credential
  std::string session = json::parse(first->body)["session"];
  BOOST_TEST(api.get("/api/queues", {{"X-StoFlow-Session", session}}).first == 200);
  BOOST_TEST(api.get("/api/queues", {{"X-StoFlow-Session", "forged"}}).first == 401);
  BOOST_TEST(api.get("/api/queues", {{"Cookie", "stoflow_session=" + session}}).first == 401);
  auto again =
      api.client.Post("/api/dashboard/session", json{{"code", code}}.dump(), "application/json");
  BOOST_TEST(again->status == 403);
  auto guessed = api.client.Post("/api/dashboard/session", json{{"code", "../api-token"}}.dump(),
                                 "application/json");
  BOOST_TEST(guessed->status == 403);

  auto page = api.client.Get("/");
  BOOST_REQUIRE(page);
  BOOST_TEST(page->status == 200);
  BOOST_TEST(page->body.find("StoFlow Companion") != std::string::npos);
  BOOST_TEST(page->get_header_value("Content-Security-Policy").find("default-src 'self'") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_dashboard_command_hands_a_code_through_a_private_file) {
  HostEnv env;
  ServeProcess serve(env);
  Api api{serve};
  auto r = env.cli({"dashboard", "--no-open", "--port", std::to_string(serve.port()),
                    "--token-file", (env.dir / "config" / "api-token").string()});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto at = r.out.find("code=");
  BOOST_REQUIRE(at != std::string::npos);
  std::string code = r.out.substr(at + 5, 48);
  auto exchanged =
      api.client.Post("/api/dashboard/session", json{{"code", code}}.dump(), "application/json");
  BOOST_REQUIRE(exchanged);
  BOOST_TEST(exchanged->status == 200);
  BOOST_TEST(std::filesystem::is_empty(env.dir / "config" / "login-codes"));
}

BOOST_AUTO_TEST_CASE(errors_are_json_with_protocol_codes) {
  HostEnv env;
  write_file(env.dir / "catalogue" / "a.png", png_bytes(900, 1));
  json bare = vinted_product("bare", {"a.png"});
  bare["vinted"].erase("status_id");
  int64_t product = env.import(json::array({bare}))[0];
  ServeProcess serve(env);
  Api api{serve};

  auto expect = [&](std::pair<int, json> r, int http, int code) {
    BOOST_TEST(r.first == http);
    BOOST_TEST(r.second["error"]["code"] == code, r.second.dump());
  };
  expect(api.get("/api/queues/999"), 404, -32000);
  expect(api.get("/api/queues?status=exploded"), 400, -32602);
  expect(api.get("/api/queues?limit=many"), 400, -32602);
  expect(api.post("/api/vinted/publish", std::string("{not json")), 400, -32700);
  auto overflow = api.post("/api/vinted/publish", std::string(R"({"product_id": 1e400})"));
  expect(overflow, 400, -32700);
  BOOST_TEST(overflow.second["error"]["message"].get<std::string>().find("out of range") !=
             std::string::npos);
  expect(api.post("/api/vinted/publish", json{{"product_id", "1"}}), 400, -32602);
  expect(api.post("/api/plugin/tasks/77/result", json{{"success", true}}), 404, -32000);
  expect(api.post("/api/operations", json{{"platform", "vinted"},
                                          {"operation", "delete_listing"},
                                          {"product_id", product}}),
         400, -32602);
  expect(api.post("/api/operations", json::array()), 400, -32602);
  expect(api.post("/api/operations", json{{"platform", "vinted"},
                                          {"operation", "publish_product"},
                                          {"product_id", product}}),
         422, -32005);  // through to the engine, which names what the product lacks
  auto incomplete = api.post("/api/vinted/publish", json{{"product_id", product}});
  expect(incomplete, 422, -32005);
  BOOST_TEST(incomplete.second["error"]["data"]["missing_fields"] == json({"vinted.status_id"}));
  // Over HTTP, photos can only be URLs: no endpoint reads the seller's files.
  auto local =
      api.post("/api/products/import", json::array({vinted_product("x", {"/etc/hostname"})}));
  expect(local, 400, -32602);
  auto huge = api.client.Post("/api/products/import", api.auth(), std::string(9 * 1024 * 1024, ' '),
                              "application/json");
  BOOST_REQUIRE(huge);
  BOOST_TEST(huge->status == 413);
  auto [s, products] = api.get("/api/products");
  BOOST_TEST(products.size() == 1);
}

BOOST_AUTO_TEST_CASE(photos_are_served_only_from_the_blob_store) {
  HostEnv env;
  std::vector<std::string> photos;
  int64_t product = env.product_with_photos("thumb", {5000}, &photos);
  ServeProcess serve(env);
  Api api{serve};
  json p = api.get("/api/products/" + std::to_string(product)).second;
  std::string blob = p["images"][0]["blob"];
  auto r = api.client.Get("/api/blobs/" + blob, api.auth());
  BOOST_REQUIRE(r);
  BOOST_TEST(r->status == 200);
  BOOST_TEST(r->get_header_value("Content-Type") == "image/png");
  BOOST_TEST((r->body == photos[0]));
  BOOST_TEST(api.client.Get("/api/blobs/" + std::string(64, 'a'), api.auth())->status == 404);
  BOOST_TEST(api.client.Get("/api/blobs/..%2F..%2Fetc%2Fpasswd", api.auth())->status == 404);
}

BOOST_AUTO_TEST_CASE(imports_keep_the_database_whole_beside_other_processes) {
  // Regression: opening and closing the database file outside SQLite dropped
  // the server's locks, and the next CLI run deleted the live WAL.
  HostEnv env;
  ServeProcess serve(env);
  Api api{serve};
  for (int round = 1; round <= 3; ++round) {
    json lot = {{"title", "Lot " + std::to_string(round)}, {"price_cents", 100 * round}};
    auto [status, body] = api.post("/api/products/import", json::array({lot}));
    BOOST_REQUIRE_MESSAGE(status == 200, body.dump());
    auto cli = env.cli({"queues", "--json"});  // another process opens and closes it
    BOOST_REQUIRE_MESSAGE(cli.exit_code == 0, cli.err);
  }
  auto [status, products] = api.get("/api/products");
  BOOST_REQUIRE_MESSAGE(status == 200, products.dump());
  BOOST_TEST(products.size() == 3);
  BOOST_TEST(env.cli({"products", "list", "--json"}).exit_code == 0);
  BOOST_TEST(integrity_of(env.db()) == "ok");
}

BOOST_AUTO_TEST_CASE(a_poller_is_handed_each_step_once) {
  // The seed's plugin polls again while an upload runs; it must not get the
  // same step a second time.
  HostEnv env;
  int64_t product = env.product_with_photos("poll", {2000});
  ServeProcess serve(env);
  Api api{serve};
  api.post("/api/vinted/publish", json{{"product_id", product}});
  auto [s1, first] = api.get("/api/plugin/tasks");
  BOOST_REQUIRE_EQUAL(first.size(), 1u);
  auto [s2, second] = api.get("/api/plugin/tasks");
  BOOST_TEST(second.empty(), second.dump());
  api.post("/api/plugin/tasks/" + std::to_string(first[0]["id"].get<int>()) + "/result",
           json{{"success", true}, {"result", seed_result(first[0])}});
  auto [s3, next] = api.get("/api/plugin/tasks");
  BOOST_REQUIRE_EQUAL(next.size(), 1u);
  BOOST_TEST(next[0]["step"] == "create_draft");
}

BOOST_AUTO_TEST_CASE(hostile_requests_are_refused_and_the_server_keeps_serving) {
  HostEnv env;
  ServeProcess serve(env);
  Api api{serve};
  std::string host = "Host: 127.0.0.1:" + std::to_string(serve.port()) + "\r\n";
  std::string auth = "Authorization: Bearer " + serve.token() + "\r\n";
  auto raw_status = [&](const std::string& request_line, const std::string& headers,
                        const std::string& body) {
    std::string response = raw_http(
        serve.port(), request_line + "\r\n" + headers + "Connection: close\r\n\r\n" + body);
    BOOST_TEST_MESSAGE(response);
    return status_of(response);
  };

  // Nested deep enough to overflow the stack when copied: refused unparsed.
  std::string deep =
      "{\"product_id\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto [ds, deep_reply] = api.post("/api/vinted/publish", deep);
  BOOST_TEST(ds == 400);
  BOOST_TEST(deep_reply["error"]["code"] == -32600);

  // Chunked and compressed bodies would slip past the size limit.
  const std::string import_line = "POST /api/products/import HTTP/1.1";
  BOOST_TEST(raw_status(import_line, host + auth + "Transfer-Encoding: chunked\r\n",
                        "2\r\n[]\r\n0\r\n\r\n") == 411);
  BOOST_TEST(raw_status(import_line,
                        host + auth + "Content-Encoding: gzip\r\nContent-Length: 2\r\n",
                        "[]") == 415);
  BOOST_TEST(raw_status("GET /api/health HTTP/1.1", host + "Host: attacker.example\r\n" + auth,
                        "") == 400);

  // Every refusal is JSON with a protocol code, httplib's own included.
  auto expect = [&](std::pair<int, json> r, int http, int code) {
    BOOST_TEST(r.first == http);
    BOOST_TEST(r.second["error"]["code"] == code, r.second.dump());
  };
  expect(api.get("/api/queues/abc"), 400, -32602);
  expect(api.get("/api/queues/-1"), 400, -32602);
  expect(api.get("/api/no-such-thing"), 404, -32601);
  expect(api.get("/api/vinted/publish"), 404, -32601);
  // A batch is answered per product, each error in the same shape.
  auto [ps, per_product] =
      api.post("/api/products/publish", json{{"platform", 5}, {"product_ids", {99}}});
  BOOST_TEST(ps == 200);
  BOOST_TEST(per_product[0]["error"]["code"] == -32602, per_product.dump());
  BOOST_TEST(per_product[0]["error"]["data"]["kind"] == "invalid_params");
  auto bad_code =
      api.client.Post("/api/dashboard/session", json{{"code", 5}}.dump(), "application/json");
  BOOST_REQUIRE(bad_code);
  BOOST_TEST(bad_code->status == 400);
  BOOST_TEST(json::parse(bad_code->body)["error"]["code"] == -32602);

  BOOST_TEST(api.get("/api/health").first == 200);  // still serving
}

BOOST_AUTO_TEST_CASE(a_second_server_cannot_share_the_port) {
  HostEnv env;
  ServeProcess serve(env);
  BOOST_CHECK_THROW(ServeProcess(env, serve.port()), std::runtime_error);
  Api api{serve};
  BOOST_TEST(api.get("/api/health").first == 200);
}

BOOST_AUTO_TEST_CASE(a_token_file_readable_by_others_is_made_private) {
  HostEnv env;
  auto token_file = env.dir / "config" / "api-token";
  { ServeProcess first(env); }
  std::filesystem::permissions(token_file, std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  ServeProcess again(env);
  auto mode = std::filesystem::status(token_file).permissions() & std::filesystem::perms::all;
  BOOST_TEST(static_cast<unsigned>(mode) == 0600u);
}

BOOST_AUTO_TEST_SUITE_END()
