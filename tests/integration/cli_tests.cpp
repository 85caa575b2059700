#include <boost/test/unit_test.hpp>

#include "harness.h"

using namespace stoflow::testing;

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(import_publish_and_monitor) {
  HostEnv env;
  write_file(env.dir / "catalogue" / "a.png", png_bytes(3000, 1));
  json products =
      json::array({vinted_product("Jacket", {"a.png"}), vinted_product("Scarf", {"a.png"})});
  auto file = write_product_file(env.dir / "catalogue", products);
  auto imported = env.cli({"products", "import", file.string()});
  BOOST_REQUIRE_MESSAGE(imported.exit_code == 0, imported.err);
  BOOST_TEST(imported.out == "1\n2\n");

  auto published = env.cli({"publish", "vinted", "1", "2"});
  BOOST_TEST(published.exit_code == 0);
  BOOST_TEST(published.out == "1\n2\n");

  auto queues = env.cli({"queues", "--json"});
  BOOST_TEST(queues.exit_code == 0);
  json list = json::parse(queues.out);
  BOOST_TEST(list.size() == 2);
  BOOST_TEST(list[0]["status"] == "queued");

  auto table = env.cli({"queues", "--status", "queued"});
  BOOST_TEST(table.out.find("upload_photo_1") != std::string::npos);
  auto one = env.cli({"queue", "2"});
  BOOST_TEST(one.exit_code == 0);
  BOOST_TEST(one.out.find("POST /api/v2/photos") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(clear_errors_and_exit_codes) {
  HostEnv env;
  write_file(env.dir / "catalogue" / "a.png", png_bytes(3000, 1));
  json bare = vinted_product("Bare", {"a.png"});
  bare["vinted"].erase("catalog_id");
  auto ids = env.import(json::array({bare}));

  auto refused = env.cli({"publish", "vinted", std::to_string(ids[0])});
  BOOST_TEST(refused.exit_code == 1);
  BOOST_TEST(refused.err.find("vinted.catalog_id") != std::string::npos);
  BOOST_TEST(refused.out.empty());

  BOOST_TEST(env.cli({"publish", "vinted", "77"}).exit_code == 1);
  BOOST_TEST(env.cli({"publish", "vinted", "abc"}).exit_code == 2);
  BOOST_TEST(env.cli({"frobnicate"}).exit_code == 2);
  BOOST_TEST(env.cli({"queues", "--status", "exploded"}).exit_code == 1);
  BOOST_TEST(env.cli({"queue", "12"}).exit_code == 1);
  BOOST_TEST(env.cli({}).exit_code == 2);
  BOOST_TEST(env.cli({"--help"}).exit_code == 0);

  write_file(env.dir / "broken.json", "[{\"title\": ");
  auto broken = env.cli({"products", "import", (env.dir / "broken.json").string()});
  BOOST_TEST(broken.exit_code == 1);
  BOOST_TEST(broken.err.find("not valid JSON") != std::string::npos);
  BOOST_TEST(env.cli({"products", "import", (env.dir / "none.json").string()}).exit_code == 1);

  // Nothing of the refused commands was written.
  json queues = json::parse(env.cli({"queues", "--json"}).out);
  BOOST_TEST(queues.empty());
}

BOOST_AUTO_TEST_CASE(version_and_help) {
  HostEnv env;
  for (const char* form : {"--version", "version"}) {
    auto r = env.cli({form});
    BOOST_TEST(r.exit_code == 0, form);
    BOOST_TEST(r.out.rfind("stoflow-host ", 0) == 0, r.out);
  }
  auto help = env.cli({"--help"});
  BOOST_TEST(help.exit_code == 0);
  BOOST_TEST(help.out.find("products import FILE.json") != std::string::npos);
  auto none = env.cli({});
  BOOST_TEST(none.exit_code == 2);
  BOOST_TEST(none.err.find("Usage:") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_db_flag_and_env_select_the_file) {
  HostEnv env;
  auto env_without_db = env.env;
  env_without_db.erase("STOFLOW_DB");
  auto other = env.dir / "other.db";
  auto r = run_host_cli({"--db", other.string(), "queues", "--json"}, env_without_db);
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST(std::filesystem::exists(other));
  auto fallback = run_host_cli({"queues"}, env_without_db);
  BOOST_TEST(fallback.exit_code == 0);
  BOOST_TEST(std::filesystem::exists(env.dir / "xdg" / "stoflow" / "stoflow.db"));
}

BOOST_AUTO_TEST_SUITE_END()
