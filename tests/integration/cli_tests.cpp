#include <algorithm>
#include <boost/test/unit_test.hpp>

#include "harness.h"
#include "windows_run.h"

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

// A data folder and a catalogue folder named with accents (a seller called
// Hélène): one folder each, whatever the platform (on Windows the name goes
// through UTF-8 inside and wide characters at the API; a conversion through
// the code page once made a second, mis-spelled folder for the photos).
BOOST_AUTO_TEST_CASE(a_data_folder_with_accents_stays_one_folder) {
  HostEnv env;
  const std::string accented = "H\xC3\xA9l\xC3\xA8ne";  // Hélène in UTF-8
  const auto data = env.dir / "users" / accented;
  env.env["STOFLOW_DB"] = (data / "stoflow.db").string();
  write_file(env.dir / ("catalogue " + accented) / "a.png", png_bytes(3000, 1));
  auto file = write_product_file(env.dir / ("catalogue " + accented),
                                 json::array({vinted_product("Jacket", {"a.png"})}));
  auto imported = env.cli({"products", "import", file.string()});
  BOOST_REQUIRE_MESSAGE(imported.exit_code == 0, imported.err);
  BOOST_TEST(imported.out == "1\n");
  auto published = env.cli({"publish", "vinted", "1"});
  BOOST_REQUIRE_MESSAGE(published.exit_code == 0, published.err);

  std::vector<std::string> folders;
  for (const auto& entry : std::filesystem::directory_iterator(env.dir / "users"))
    folders.push_back(entry.path().filename().string());
  BOOST_TEST(folders == std::vector<std::string>{accented});
  BOOST_TEST(std::filesystem::is_regular_file(data / "stoflow.db"));
  BOOST_TEST(std::filesystem::is_directory(data / "stoflow.db-blobs"));
  BOOST_TEST(std::filesystem::exists(data / "stoflow.db-commits"));
  // --db names the same database through the command line.
  auto without_env = env.env;
  without_env.erase("STOFLOW_DB");
  auto listed = run_host_cli({"--db", (data / "stoflow.db").string(), "products", "list", "--json"},
                             without_env);
  BOOST_REQUIRE_MESSAGE(listed.exit_code == 0, listed.err);
  BOOST_TEST(json::parse(listed.out).size() == 1u);
}

// More rows than one page (500): the CLI pages through them and streams the output.
BOOST_AUTO_TEST_CASE(long_lists_are_paged_and_streamed_whole) {
  HostEnv env;
  write_file(env.dir / "catalogue" / "a.png", png_bytes(3000, 1));
  const int count = 1100;
  json products = json::array();
  for (int i = 0; i < count; ++i)
    products.push_back(vinted_product("Item " + std::to_string(i), {"a.png"}));
  auto file = write_product_file(env.dir / "catalogue", products);
  BOOST_REQUIRE(env.cli({"products", "import", file.string()}).exit_code == 0);
  std::vector<std::string> publish = {"publish", "vinted"};
  for (int i = 1; i <= count; ++i) publish.push_back(std::to_string(i));
  BOOST_REQUIRE(env.cli(publish).exit_code == 0);

  auto all = env.cli({"listings", "--json"});
  BOOST_REQUIRE_MESSAGE(all.exit_code == 0, all.err);
  json rows = json::parse(all.out);
  BOOST_REQUIRE(rows.size() == static_cast<size_t>(count));
  for (size_t i = 1; i < rows.size(); ++i) BOOST_TEST(rows[i]["id"] > rows[i - 1]["id"]);
  BOOST_TEST(rows.back()["product_id"] == count);
  auto text = env.cli({"listings", "--platform", "vinted", "--status", "pending"});
  BOOST_TEST(std::count(text.out.begin(), text.out.end(), '\n') == count);
  BOOST_TEST(json::parse(env.cli({"listings", "--status", "sold", "--json"}).out).empty());
  auto bad = env.cli({"listings", "--status", "gone"});
  BOOST_TEST(bad.exit_code == 1);
  BOOST_TEST(bad.err.find("unknown listing status") != std::string::npos, bad.err);

  json listed = json::parse(env.cli({"products", "list", "--json"}).out);
  BOOST_TEST(listed.size() == static_cast<size_t>(count));  // no longer cut at 1000

  // Queues come newest first, every one of them (no longer the newest 50).
  json queues = json::parse(env.cli({"queues", "--json"}).out);
  BOOST_REQUIRE(queues.size() == static_cast<size_t>(count));
  for (size_t i = 1; i < queues.size(); ++i) BOOST_TEST(queues[i]["id"] < queues[i - 1]["id"]);
  BOOST_TEST(queues.back()["id"] == 1);
  auto queue_table = env.cli({"queues", "--status", "queued"});
  BOOST_TEST(std::count(queue_table.out.begin(), queue_table.out.end(), '\n') == count + 1);
  json newest = json::parse(env.cli({"queues", "--limit", "501", "--json"}).out);
  BOOST_REQUIRE(newest.size() == 501u);
  BOOST_TEST(newest.back()["id"] == count - 500);

  // Over stdio, a page and the one after it.
  HostProcess host(env.env);
  json first = host.result_of("listings.list", {{"limit", 2}});
  BOOST_REQUIRE(first.size() == 2u);
  json next = host.result_of("listings.list", {{"limit", 2}, {"after_id", first[1]["id"]}});
  BOOST_REQUIRE(next.size() == 2u);
  BOOST_TEST(next[0]["id"] > first[1]["id"]);
  BOOST_TEST(host.call("listings.list", {{"limit", 0}})["error"]["code"] == -32602);
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

BOOST_AUTO_TEST_CASE(the_db_flag_and_env_select_the_file,
                     *posix_host_only("the default data folder follows XDG_DATA_HOME; on Windows "
                                      "it is %LOCALAPPDATA%\\StoFlow")) {
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
