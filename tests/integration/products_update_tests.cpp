// Products change after import (migration 7, products.update): through the
// real binary, by each front end: the CLI, stdio and the HTTP API.
#include <httplib.h>
#include <sqlite3.h>

#include <boost/test/unit_test.hpp>

#include "harness.h"
#include "windows_run.h"

using namespace stoflow::testing;

namespace {

// A published listing, as the publish flow leaves it (the flow has tests of its own).
void publish_directly(const HostEnv& env, int64_t product_id) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(env.db().c_str(), &db) == SQLITE_OK);
  std::string sql =
      "INSERT INTO listings (product_id, platform, status, remote_id, created_at, updated_at,"
      " published_at) VALUES (" +
      std::to_string(product_id) + ", 'vinted', 'published', '777', 'x', 'x', 'x')";
  BOOST_REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

json show(const HostEnv& env, int64_t id) {
  auto r = env.cli({"products", "show", std::to_string(id)});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return json::parse(r.out);
}

json with(json product, const json& extra) {
  product.update(extra);
  return product;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(products_update)

BOOST_AUTO_TEST_CASE(the_cli_updates_a_product_and_says_its_listing_differs) {
  HostEnv env;
  int64_t id = env.import(json::array({with(vinted_product("Coat", {}), {{"sku", "COAT-1"}})}))[0];
  BOOST_TEST(show(env, id)["quantity"] == 1);
  BOOST_TEST(show(env, id)["sku"] == "COAT-1");

  auto r = env.cli({"products", "update", std::to_string(id), "--price-cents", "1234", "--quantity",
                    "3", "--title", "Coat, navy"});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(r.out.find("product " + std::to_string(id) + " updated") != std::string::npos);
  json product = show(env, id);
  BOOST_TEST(product["price_cents"] == 1234);
  BOOST_TEST(product["quantity"] == 3);
  BOOST_TEST(product["title"] == "Coat, navy");
  BOOST_TEST(product["sku"] == "COAT-1");

  publish_directly(env, id);
  auto listed = env.cli({"listings", "--json"});
  BOOST_TEST(json::parse(listed.out)[0]["out_of_date"] == false);
  auto changed =
      env.cli({"products", "update", std::to_string(id), "--description", "Warm", "--json"});
  BOOST_REQUIRE_MESSAGE(changed.exit_code == 0, changed.err);
  json result = json::parse(changed.out);
  BOOST_TEST(result["product"]["description"] == "Warm");
  BOOST_REQUIRE(result["listings_out_of_date"].size() == 1u);
  BOOST_TEST(result["listings_out_of_date"][0]["platform"] == "vinted");
  BOOST_TEST(result["message"].get<std::string>().find("stoflow-host update vinted " +
                                                       std::to_string(id)) != std::string::npos);
  BOOST_TEST(json::parse(env.cli({"listings", "--json"}).out)[0]["out_of_date"] == true);
  BOOST_TEST(env.cli({"listings"}).out.find("out of date") != std::string::npos);

  // Bad input: clear errors, exit codes, nothing changed.
  auto negative = env.cli({"products", "update", std::to_string(id), "--quantity", "-1"});
  BOOST_TEST(negative.exit_code == 1);
  BOOST_TEST(negative.err.find("\"quantity\"") != std::string::npos, negative.err);
  auto unknown = env.cli({"products", "update", "999", "--quantity", "2"});
  BOOST_TEST(unknown.exit_code == 1);
  BOOST_TEST(unknown.err.find("999") != std::string::npos, unknown.err);
  BOOST_TEST(
      env.cli({"products", "update", std::to_string(id), "--price-cents", "abc"}).exit_code == 2);
  BOOST_TEST(env.cli({"products", "update", std::to_string(id)}).exit_code == 2);
  BOOST_TEST(env.cli({"products", "list", "--quantity", "2"}).exit_code == 2);
  BOOST_TEST(show(env, id)["quantity"] == 3);
}

BOOST_AUTO_TEST_CASE(import_updates_by_id_and_by_sku_all_or_nothing) {
  HostEnv env;
  auto ids = env.import(json::array(
      {vinted_product("Coat", {}), with(vinted_product("Hat", {}), {{"sku", "HAT-1"}})}));
  json exported = show(env, ids[0]);
  exported["price_cents"] = 555;
  json hat = with(vinted_product("Hat, red", {}), {{"sku", "HAT-1"}, {"quantity", 0}});
  json scarf = with(vinted_product("Scarf", {}), {{"sku", "SC-1"}});
  auto file = write_product_file(env.dir / "catalogue", json::array({exported, hat, scarf}));
  auto r = env.cli({"products", "import", file.string(), "--json"});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  json listed = json::parse(r.out);  // the file's order: two updated, then one added
  BOOST_REQUIRE(listed.size() == 3u);
  BOOST_TEST(listed[0] == ids[0]);
  BOOST_TEST(listed[1] == ids[1]);
  BOOST_TEST(listed[2] > ids[1]);
  BOOST_TEST(show(env, ids[0])["price_cents"] == 555);
  BOOST_TEST(show(env, ids[1])["title"] == "Hat, red");
  BOOST_TEST(show(env, ids[1])["quantity"] == 0);

  auto refused = [&](const json& entries, const std::string& why) {
    auto bad = write_product_file(env.dir / "catalogue", entries);
    auto result = env.cli({"products", "import", bad.string()});
    BOOST_TEST(result.exit_code == 1);
    BOOST_TEST(result.err.find(why) != std::string::npos, result.err);
    BOOST_TEST(result.out.empty());
  };
  json changed = with(vinted_product("Coat, changed", {}), {{"id", ids[0]}});
  refused(json::array({changed, with(vinted_product("Ghost", {}), {{"id", 999}})}),
          "product #2 in the file: \"id\": product 999 does not exist");
  refused(json::array({changed, with(vinted_product("A", {}), {{"sku", "D"}}),
                       with(vinted_product("B", {}), {{"sku", "D"}})}),
          "product #3 in the file: \"sku\" \"D\"");
  refused(json::array({changed, with(vinted_product("N", {}), {{"quantity", -1}})}),
          "product #2 in the file: \"quantity\"");
  refused(json::array({changed, with(vinted_product("T", {}), {{"quantity", "2"}})}),
          "\"quantity\"");
  BOOST_TEST(show(env, ids[0])["title"] == "Coat");
  auto list = env.cli({"products", "list", "--json"});
  BOOST_TEST(json::parse(list.out).size() == 3u);
}

BOOST_AUTO_TEST_CASE(stdio_products_update_and_clear_errors) {
  HostEnv env;
  int64_t id = env.import(json::array({vinted_product("Coat", {})}))[0];
  publish_directly(env, id);
  HostProcess host(env.env);
  json result = host.result_of("products.update", {{"product_id", id}, {"quantity", 4}});
  BOOST_TEST(result["product"]["quantity"] == 4);
  BOOST_TEST(result["listings_out_of_date"][0]["platform"] == "vinted");
  BOOST_TEST(result["listings_out_of_date"][0]["listing_id"].is_number_integer());

  auto error_of = [&](const json& params) {
    json reply = host.call("products.update", params);
    BOOST_REQUIRE_MESSAGE(reply.contains("error"), reply.dump());
    return reply["error"];
  };
  BOOST_TEST(error_of({{"product_id", id}, {"price_cents", "12"}})["code"] == -32602);
  BOOST_TEST(error_of({{"product_id", id}, {"quantity", -1}})["code"] == -32602);
  BOOST_TEST(error_of({{"product_id", 999}, {"quantity", 1}})["code"] == -32000);
  BOOST_TEST(error_of({{"quantity", 1}})["code"] == -32602);
  BOOST_TEST(host.result_of("products.get", {{"product_id", id}})["quantity"] == 4);
  BOOST_TEST(host.result_of("hello")["host"] == "stoflow-host");  // still running
}

BOOST_AUTO_TEST_CASE(http_patch_updates_with_the_token_only,
                     *not_yet_on_windows("serve (the HTTP server) is not built for Windows")) {
  HostEnv env;
  int64_t id = env.import(json::array({with(vinted_product("Coat", {}), {{"sku", "C"}})}))[0];
  int64_t other = env.import(json::array({with(vinted_product("Hat", {}), {{"sku", "H"}})}))[0];
  ServeProcess serve(env);
  httplib::Client client("127.0.0.1", serve.port());
  httplib::Headers auth = {{"Authorization", "Bearer " + serve.token()}};
  std::string path = "/api/products/" + std::to_string(id);

  auto ok = client.Patch(path, auth, R"({"price_cents": 4200, "sku": "C-2"})", "application/json");
  BOOST_REQUIRE(ok);
  BOOST_TEST(ok->status == 200, ok->body);
  json body = json::parse(ok->body);
  BOOST_TEST(body["product"]["price_cents"] == 4200);
  BOOST_TEST(body["product"]["sku"] == "C-2");
  BOOST_TEST(body["listings_out_of_date"].empty());

  auto no_token = client.Patch(path, R"({"price_cents": 1})", "application/json");
  BOOST_REQUIRE(no_token);
  BOOST_TEST(no_token->status == 401);
  auto taken = client.Patch(path, auth, R"({"sku": "H"})", "application/json");
  BOOST_REQUIRE(taken);
  BOOST_TEST(taken->status == 400);
  BOOST_TEST(taken->body.find("belongs to product " + std::to_string(other)) != std::string::npos);
  auto wrong = client.Patch(path, auth, R"({"quantity": 1.5})", "application/json");
  BOOST_REQUIRE(wrong);
  BOOST_TEST(wrong->status == 400);
  auto missing = client.Patch("/api/products/999", auth, R"({"quantity": 1})", "application/json");
  BOOST_REQUIRE(missing);
  BOOST_TEST(missing->status == 404);
  auto got = client.Get(path, auth);
  BOOST_REQUIRE(got);
  BOOST_TEST(json::parse(got->body)["price_cents"] == 4200);
  BOOST_TEST(json::parse(got->body)["sku"] == "C-2");
}

BOOST_AUTO_TEST_SUITE_END()
