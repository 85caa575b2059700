#include <httplib.h>

#include <boost/test/unit_test.hpp>

#include "harness.h"

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

json seed_result(const json& task) {
  std::string step = task["step"];
  if (step.rfind("upload_photo_", 0) == 0) return {{"photo_id", 700 + task["id"].get<int>()}};
  if (step == "create_draft") return {{"id", 42}};
  return {{"id", 987654321}, {"url", "https://www.vinted.fr/items/987654321"}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_api)

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
  expect(api.post("/api/vinted/publish", json{{"product_id", "1"}}), 400, -32602);
  expect(api.post("/api/plugin/tasks/77/result", json{{"success", true}}), 404, -32000);
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

BOOST_AUTO_TEST_SUITE_END()
