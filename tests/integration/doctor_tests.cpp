// `stoflow-host doctor` against what the REAL installer writes: installer/install.sh registers the
// built host in a temporary HOME, then doctor (with the same environment) must find it sound, and
// must name the problem once a manifest is damaged.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <thread>

#include "harness.h"
#include "windows_run.h"

using namespace stoflow::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kInstaller = fs::path(STOFLOW_SOURCE_DIR) / "installer" / "install.sh";
constexpr const char* kManifest = "com.stoflow.companion.json";

// Exactly `env` as the environment: a parent XDG_CONFIG_HOME would send the
// installer and doctor elsewhere.
CommandResult run_clean(const std::vector<std::string>& argv,
                        const std::map<std::string, std::string>& env) {
  return run_program(argv, env, false);
}

// A temporary HOME (with a space in its path, as real ones may have), a root standing for / in
// system-wide rows, and a private database; XDG_CONFIG_HOME only when asked for.
struct Machine {
  TempDir dir;
  fs::path home = dir / "home dir";
  std::map<std::string, std::string> env;

  explicit Machine(bool with_xdg_config_home = false) {
    const char* path = std::getenv("PATH");
    env = {{"PATH", path ? path : "/usr/bin:/bin"},
           {"HOME", home.string()},
           {"STOFLOW_INSTALL_ROOT", (dir / "root").string()},
           {"STOFLOW_DB", (dir / "data" / "stoflow.db").string()}};
    if (with_xdg_config_home) env["XDG_CONFIG_HOME"] = (dir / "xdg config").string();
    fs::create_directories(home);
  }

  CommandResult install(std::vector<std::string> args) const {
    args.insert(args.begin(), {kInstaller.string(), "--host", host_binary().string()});
    return run_clean(args, env);
  }
  CommandResult host(std::vector<std::string> args) const {
    args.insert(args.begin(), host_binary().string());
    return run_clean(args, env);
  }
  // doctor --json; returns the report after checking the exit status.
  json doctor_json(std::vector<std::string> args, int expected_exit) const {
    args.insert(args.begin(), {"doctor", "--json"});
    auto r = host(args);
    BOOST_REQUIRE_MESSAGE(r.exit_code == expected_exit, "doctor exited " << r.exit_code << "\n"
                                                                         << r.out << r.err);
    return json::parse(r.out);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(
    doctor,
    *not_yet_on_windows("doctor reads POSIX browser registrations, not the Windows registry"))

BOOST_AUTO_TEST_CASE(doctor_agrees_with_the_real_installer_and_names_a_damaged_manifest) {
  Machine m;
  // Browsers that have run: a Chromium profile and a Firefox profiles.ini.
  write_file(m.home / ".config" / "chromium" / "Local State", "{}");
  write_file(m.home / ".mozilla" / "firefox" / "profiles.ini", "[General]\n");
  auto installed = m.install({"--browser", "chromium", "--browser", "firefox"});
  BOOST_REQUIRE_MESSAGE(installed.exit_code == 0, installed.out + installed.err);

  json report = m.doctor_json({}, 0);
  BOOST_TEST(report["ok"] == true);
  for (const char* name : {"chromium", "firefox"}) {
    json b = browser_in(report, name);
    BOOST_TEST(b["status"] == "ok", name);
    BOOST_TEST(b["installed"] == true, name);
    BOOST_TEST(b["locations"][0]["state"] == "ok", name);
    BOOST_TEST(b["locations"][0]["host_is_this_binary"] == true, name);
    BOOST_TEST(b["locations"][0]["host_path"] == host_binary().string(), name);
  }
  fs::path chromium_file = m.home / ".config/chromium/NativeMessagingHosts" / kManifest;
  fs::path firefox_file = m.home / ".mozilla/native-messaging-hosts" / kManifest;
  BOOST_TEST(browser_in(report, "chromium")["locations"][0]["file"] == chromium_file.string());
  BOOST_TEST(browser_in(report, "firefox")["locations"][0]["file"] == firefox_file.string());
  BOOST_TEST(browser_in(report, "chrome")["status"] == "not_installed");
  BOOST_TEST(report["problems"].empty());

  auto text = m.host({"doctor"});
  BOOST_TEST(text.exit_code == 0);
  BOOST_TEST(text.out.find("chromium: ok") != std::string::npos);
  BOOST_TEST(text.out.find("firefox: ok") != std::string::npos);
  BOOST_TEST(text.out.find("Summary: 2 ok (chromium firefox)") != std::string::npos);

  // Damage the Firefox manifest: doctor fails and says what and how.
  write_file(firefox_file, "{\"name\": \"com.stoflow.companion\",");
  report = m.doctor_json({}, 1);
  BOOST_TEST(report["ok"] == false);
  BOOST_TEST(browser_in(report, "firefox")["status"] == "bad");
  BOOST_TEST(browser_in(report, "chromium")["status"] == "ok");
  BOOST_REQUIRE(report["problems"].size() == 1u);
  BOOST_TEST(report["problems"][0]["browser"] == "firefox");
  BOOST_TEST(report["problems"][0]["code"] == "invalid_json");
  BOOST_TEST(report["problems"][0]["file"] == firefox_file.string());
  BOOST_TEST(report["problems"][0]["fix"] == "run installer/install.sh --browser firefox");

  text = m.host({"doctor"});
  BOOST_TEST(text.exit_code == 1);
  BOOST_TEST(text.out.find("firefox: BAD") != std::string::npos);
  BOOST_TEST(text.out.find("problem: not valid JSON") != std::string::npos);

  // Only the browsers asked about count.
  BOOST_TEST(m.doctor_json({"--browser", "chromium"}, 0)["browsers"].size() == 1u);

  // The fix it gives works.
  BOOST_REQUIRE(m.install({"--browser", "firefox"}).exit_code == 0);
  BOOST_TEST(m.doctor_json({}, 0)["ok"] == true);
}

BOOST_AUTO_TEST_CASE(xdg_config_home_is_followed_and_a_moved_host_is_named) {
  Machine m(true);
  BOOST_REQUIRE(m.install({"--browser", "chromium"}).exit_code == 0);
  fs::path file = m.dir / "xdg config" / "chromium" / "NativeMessagingHosts" / kManifest;
  BOOST_REQUIRE(fs::exists(file));
  json chromium = browser_in(m.doctor_json({"--browser", "chromium"}, 0), "chromium");
  BOOST_TEST(chromium["status"] == "ok");
  BOOST_TEST(chromium["installed"] == false);  // registered ahead of the browser, as documented
  BOOST_TEST(chromium["locations"][0]["file"] == file.string());

  json manifest = json::parse(read_file(file));
  manifest["path"] = "/old/path/stoflow-host";
  write_file(file, manifest.dump(2));
  json report = m.doctor_json({"--browser", "chromium"}, 1);
  BOOST_REQUIRE(report["problems"].size() == 1u);
  const json& problem = report["problems"][0];
  BOOST_TEST(problem["code"] == "host_missing");
  BOOST_TEST(problem["message"] ==
             "the manifest points to /old/path/stoflow-host which does not exist");
  BOOST_TEST(problem["fix"].get<std::string>().find("--host " + host_binary().string()) !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(system_wide_registrations_are_checked_under_the_install_root) {
  Machine m;
  auto installed = m.install({"--system", "--browser", "chrome"});
  BOOST_REQUIRE_MESSAGE(installed.exit_code == 0, installed.out + installed.err);
  json chrome = browser_in(m.doctor_json({"--browser", "chrome"}, 0), "chrome");
  BOOST_TEST(chrome["status"] == "ok");
  BOOST_TEST(chrome["locations"][0]["state"] == "missing");
  BOOST_TEST(chrome["locations"][1]["scope"] == "system");
  BOOST_TEST(chrome["locations"][1]["state"] == "ok");
  BOOST_TEST(chrome["locations"][1]["file"] ==
             (m.dir / "root/etc/opt/chrome/native-messaging-hosts" / kManifest).string());
}

namespace {
// What the file itself records, read with SQLite directly.
int64_t newest_migration(const std::string& db_path) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT MAX(version) FROM schema_migrations", -1, &stmt, nullptr);
  int64_t version = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return version;
}
}  // namespace

BOOST_AUTO_TEST_CASE(the_database_is_described_without_being_changed) {
  Machine m;
  json before = m.doctor_json({"--browser", "firefox"}, 0)["database"];
  BOOST_TEST(before["exists"] == false);
  BOOST_TEST(before["source"] == "STOFLOW_DB");
  BOOST_TEST(!fs::exists(m.env.at("STOFLOW_DB")));

  write_file(m.dir / "catalogue" / "a.png", png_bytes(2000, 3));
  auto file =
      write_product_file(m.dir / "catalogue", json::array({vinted_product("Coat", {"a.png"})}));
  BOOST_REQUIRE(m.host({"products", "import", file.string()}).exit_code == 0);
  BOOST_REQUIRE(m.host({"publish", "vinted", "1"}).exit_code == 0);

  json db = m.doctor_json({"--browser", "firefox"}, 0)["database"];
  BOOST_TEST(db["exists"] == true);
  BOOST_TEST(db["path"] == m.env.at("STOFLOW_DB"));
  BOOST_TEST(db["schema_version"] == newest_migration(m.env.at("STOFLOW_DB")));
  BOOST_TEST(db["mode"] == "0600");
  BOOST_TEST(db["queues"]["queued"] == 1);
  BOOST_TEST(db["queues"]["completed"] == 0);
  BOOST_TEST(db["problems"].empty());
  BOOST_TEST(db["state"] == "ok");
  BOOST_TEST(db["integrity"]["intact"] == true);
  BOOST_TEST(db["binary_schema_version"] == db["schema_version"]);

  ::chmod(m.env.at("STOFLOW_DB").c_str(), 0644);
  auto text = m.host({"doctor", "--browser", "firefox"});
  BOOST_TEST(text.exit_code == 0);  // too widely readable is a warning: the host still works
  BOOST_TEST(text.out.find("chmod 600") != std::string::npos);
  BOOST_TEST(text.out.find("database: WARNING") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(doctor_usage) {
  Machine m;
  BOOST_TEST(m.host({"doctor", "--bogus"}).exit_code == 2);
  BOOST_TEST(m.host({"doctor", "--browser", "netscape"}).exit_code == 2);
  BOOST_TEST(m.host({"doctor", "--browser"}).exit_code == 2);
  auto help = m.host({"doctor", "--help"});
  BOOST_TEST(help.exit_code == 0);
  BOOST_TEST(help.out.find("--chrome-user-data-dir DIR") != std::string::npos);
  BOOST_TEST(m.host({"--help"}).out.find("doctor [--json]") != std::string::npos);
  // --db before the command, as for every other command.
  json db = m.doctor_json({"--browser", "edge"}, 0)["database"];
  BOOST_TEST(db["source"] == "STOFLOW_DB");
  auto env = m.env;
  env.erase("STOFLOW_DB");
  auto r = run_clean({host_binary().string(), "--db", (m.dir / "other.db").string(), "doctor",
                      "--json", "--browser=edge"},
                     env);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out + r.err);
  BOOST_TEST(json::parse(r.out)["database"]["source"] == "--db");
  BOOST_TEST(json::parse(r.out)["database"]["path"] == (m.dir / "other.db").string());
}

BOOST_AUTO_TEST_SUITE_END()
