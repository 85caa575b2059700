// stoflow-host doctor: the browser table (as installer/lib.sh reads it), manifest checks, the
// per-browser verdict, the database check and the report, all against temporary directories.
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "doctor/browser_table.h"
#include "doctor/database_check.h"
#include "doctor/doctor.h"
#include "doctor/manifest_check.h"
#include "doctor/printer.h"
#include "doctor/report_json.h"
#include "newest_migration.h"
#include "store/database.h"
#include "store/migrations.h"
#include "test_support.h"

using namespace stoflow;
using namespace stoflow::doctor;
using nlohmann::json;
using stoflow::testing::read_file;
using stoflow::testing::TempDir;
using stoflow::testing::write_file;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = STOFLOW_SOURCE_DIR;
const std::string kOrigin = "chrome-extension://kikocaejcljggdneaelndeobljajgmho/";
const std::string kHeader = "os\tscope\tbrowser\tflavour\tlocation\n";

// The installer's own template with the host filled in, as install.sh renders it.
std::string rendered_template(const char* flavour, const fs::path& host) {
  std::string text = read_file(kSource / "manifest" / (std::string(flavour) + ".json.in"));
  auto at = text.find("@HOST_PATH@");
  BOOST_REQUIRE(at != std::string::npos);
  return text.replace(at, 11, host.string());
}

fs::path make_executable(const fs::path& path) {
  write_file(path, "#!/bin/sh\nexit 0\n");
  fs::permissions(path, fs::perms(0755));
  return path;
}

// A temporary world: a HOME, a root for system rows, and a stand-in for this host.
struct World {
  TempDir dir;
  fs::path home = dir / "home dir";
  fs::path root = dir / "root";
  fs::path host = make_executable(dir / "bin" / "stoflow-host");

  Setup setup() const {
    Setup s;
    s.env = {home.string(), std::nullopt, root.string()};
    s.forced_os = "linux";
    s.self = host;
    return s;
  }
  fs::path user_file(const std::string& config_dir) const {
    return home / ".config" / config_dir / "NativeMessagingHosts" / kManifestFileName;
  }
  fs::path firefox_file() const {
    return home / ".mozilla" / "native-messaging-hosts" / kManifestFileName;
  }
  void make_profile(const std::string& config_dir) const {
    write_file(home / ".config" / config_dir / "Local State", "{}");
  }
};

const Remedy kRemedy{"installer/install.sh --browser chromium",
                     "installer/install.sh --host /x/stoflow-host --browser chromium"};

ManifestResult check_json(const World& world, const json& manifest,
                          Flavour flavour = Flavour::kChrome) {
  auto file = world.dir / "m" / kManifestFileName;
  write_file(file, manifest.dump());
  return check_manifest(file, flavour, world.host, kRemedy);
}

json good_chrome(const fs::path& host) {
  return json::parse(rendered_template("chrome", host));
}

std::vector<std::string> codes(const ManifestResult& result) {
  std::vector<std::string> out;
  for (const auto& p : result.problems) out.push_back(p.code);
  return out;
}

const BrowserResult& browser_in(const Report& report, const std::string& name) {
  for (const auto& b : report.browsers) {
    if (b.browser == name) return b;
  }
  throw std::runtime_error("no " + name + " in the report");
}

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? ::setenv(name, value->c_str(), 1) : ::unsetenv(name);
  }
  ~ScopedEnv() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

// Boost.Test prints the values of a failed comparison.
namespace stoflow::doctor {
std::ostream& operator<<(std::ostream& out, DatabaseState state) {
  return out << to_string(state);
}
std::ostream& operator<<(std::ostream& out, Os os) {
  return out << to_string(os);
}
std::ostream& operator<<(std::ostream& out, Scope scope) {
  return out << to_string(scope);
}
std::ostream& operator<<(std::ostream& out, ManifestState s) {
  return out << to_string(s);
}
std::ostream& operator<<(std::ostream& out, BrowserStatus s) {
  return out << to_string(s);
}
}  // namespace stoflow::doctor

BOOST_AUTO_TEST_SUITE(doctor_table)

BOOST_AUTO_TEST_CASE(the_built_in_table_is_the_installers_table) {
  BOOST_TEST(std::string(builtin_browser_table()) ==
             read_file(kSource / "installer" / "browsers.tsv"));
}

BOOST_AUTO_TEST_CASE(the_built_in_table_has_every_browser_for_every_os_and_scope) {
  auto rows = parse_browser_table(builtin_browser_table(), "browsers.tsv");
  for (Os os : {Os::kLinux, Os::kMacos}) {
    for (Scope scope : {Scope::kUser, Scope::kSystem}) {
      auto selected = rows_for(rows, os, scope);
      for (const auto& browser : known_browsers()) {
        bool found = std::any_of(selected.begin(), selected.end(),
                                 [&](const TableRow& r) { return r.browser == browser; });
        BOOST_TEST(found, to_string(os) << " " << to_string(scope) << " " << browser);
      }
      for (const auto& row : selected) {
        BOOST_TEST((row.flavour == Flavour::kFirefox) == (row.browser == "firefox"));
      }
    }
  }
  auto linux_user = rows_for(rows, Os::kLinux, Scope::kUser);
  BOOST_REQUIRE(linux_user.size() == 6u);
  BOOST_TEST(linux_user[1].browser == "chromium");
  BOOST_TEST(linux_user[1].location == "$XDG_CONFIG_HOME/chromium/NativeMessagingHosts");
  BOOST_TEST(rows_for(rows, Os::kWindows, Scope::kUser).size() == 8u);
}

BOOST_AUTO_TEST_CASE(comments_blank_lines_and_crlf_are_skipped_like_lib_sh) {
  std::string text = "# comment\n\n" + kHeader +
                     "# another\r\n"
                     "linux\tuser\tchrome\tchrome\t~/a dir/NativeMessagingHosts\r\n"
                     "\n"
                     "macos\tsystem\tfirefox\tfirefox\t/Library/X";  // no final newline
  auto rows = parse_browser_table(text, "t.tsv");
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0].location == "~/a dir/NativeMessagingHosts");
  BOOST_TEST(rows[0].line == 5);
  BOOST_TEST(rows[1].os == Os::kMacos);
  BOOST_TEST(rows[1].scope == Scope::kSystem);
  BOOST_TEST(rows[1].location == "/Library/X");
}

BOOST_AUTO_TEST_CASE(a_malformed_table_is_refused_with_its_line) {
  auto refused = [](const std::string& text, const std::string& expected) {
    try {
      parse_browser_table(text, "t.tsv");
    } catch (const TableError& e) {
      BOOST_TEST(std::string(e.what()).find(expected) != std::string::npos,
                 e.what() << " should contain " << expected);
      return;
    }
    BOOST_ERROR("accepted: " << text);
  };
  refused("# only comments\n", "no header");
  refused("os scope browser flavour location\n", "t.tsv:1: expected the header");
  refused(kHeader + "linux\tuser\tchrome\tchrome\n", "t.tsv:2: expected 5");
  refused(kHeader + "linux\tuser\tchrome\tchrome\t/a\textra\n", "t.tsv:2: expected 5");
  refused(kHeader + "linux\tuser\tchrome\t\tchrome\t/a\n", "t.tsv:2: expected 5");
  refused(kHeader + "\n#\nbeos\tuser\tchrome\tchrome\t/a\n", "t.tsv:4: unknown os 'beos'");
  refused(kHeader + "linux\tglobal\tchrome\tchrome\t/a\n", "unknown scope 'global'");
  refused(kHeader + "linux\tuser\tnetscape\tchrome\t/a\n", "unknown browser 'netscape'");
  refused(kHeader + "linux\tuser\tchrome\tsafari\t/a\n", "unknown flavour 'safari'");
}

BOOST_AUTO_TEST_CASE(locations_expand_like_sf_expand_location) {
  PathEnvironment env{"/home/u/", std::nullopt, std::nullopt};
  BOOST_TEST(expand_location("~/.mozilla/nmh", env) == fs::path("/home/u/.mozilla/nmh"));
  BOOST_TEST(expand_location("$XDG_CONFIG_HOME/chromium/N", env) ==
             fs::path("/home/u/.config/chromium/N"));
  env.xdg_config_home = "/xdg/";
  BOOST_TEST(expand_location("$XDG_CONFIG_HOME/chromium/N", env) == fs::path("/xdg/chromium/N"));
  env.xdg_config_home = "relative/xdg";  // not absolute: ignored, as by lib.sh and Chromium
  BOOST_TEST(expand_location("$XDG_CONFIG_HOME/chromium/N", env) ==
             fs::path("/home/u/.config/chromium/N"));
  BOOST_TEST(expand_location("/etc/chromium/n", env) == fs::path("/etc/chromium/n"));
  env.install_root = "/tmp/root";
  BOOST_TEST(expand_location("/etc/chromium/n", env) == fs::path("/tmp/root/etc/chromium/n"));
  BOOST_CHECK_THROW(expand_location("$HOME/x", env), TableError);
  BOOST_CHECK_THROW(expand_location("~x", env), TableError);

  PathEnvironment no_home{std::nullopt, std::nullopt, std::nullopt};
  BOOST_CHECK_THROW(expand_location("~/x", no_home), TableError);
  BOOST_CHECK_THROW(expand_location("$XDG_CONFIG_HOME/x", no_home), TableError);
  BOOST_TEST(expand_location("/x", no_home) == fs::path("/x"));
  PathEnvironment relative_home{"home/u", "/xdg", std::nullopt};
  BOOST_CHECK_THROW(expand_location("$XDG_CONFIG_HOME/x", relative_home), TableError);
}

BOOST_AUTO_TEST_CASE(the_os_can_be_forced_to_linux_or_macos_only) {
  BOOST_TEST(resolve_os("linux") == Os::kLinux);
  BOOST_TEST(resolve_os("macos") == Os::kMacos);
  BOOST_CHECK_THROW(resolve_os("windows"), TableError);
  BOOST_CHECK_THROW(resolve_os("Linux"), TableError);
#if defined(__linux__)
  BOOST_TEST(resolve_os(std::nullopt) == Os::kLinux);
#endif
}

BOOST_AUTO_TEST_CASE(browser_selection_follows_the_installer) {
  using V = std::vector<std::string>;
  BOOST_TEST(select_browsers({}) == known_browsers());
  BOOST_TEST(select_browsers({"all"}) == known_browsers());
  BOOST_TEST(select_browsers({"Firefox,chrome", "chrome"}) == (V{"chrome", "firefox"}));
  BOOST_TEST(select_browsers({"msedge", "google-chrome"}) == (V{"chrome", "edge"}));
  BOOST_TEST(select_browsers({"microsoft-edge"}) == (V{"edge"}));
  BOOST_CHECK_THROW(select_browsers({"netscape"}), std::invalid_argument);
  BOOST_CHECK_THROW(select_browsers({"chrome,,firefox"}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(doctor_manifest)

BOOST_AUTO_TEST_CASE(the_installers_manifests_pass) {
  World world;
  auto chrome = check_json(world, good_chrome(world.host));
  BOOST_TEST(chrome.state == ManifestState::kOk);
  BOOST_TEST(chrome.problems.empty());
  BOOST_TEST(*chrome.host_path == world.host.string());
  BOOST_TEST((chrome.host_is_this_binary == std::optional<bool>(true)));

  auto firefox =
      check_json(world, json::parse(rendered_template("firefox", world.host)), Flavour::kFirefox);
  BOOST_TEST(firefox.state == ManifestState::kOk);
  BOOST_TEST(firefox.problems.empty());
}

BOOST_AUTO_TEST_CASE(this_binary_is_recognised_through_links_and_others_are_not) {
  World world;
  fs::create_symlink(world.host, world.dir / "link");
  BOOST_TEST((check_json(world, good_chrome(world.dir / "link")).host_is_this_binary ==
              std::optional<bool>(true)));
  auto other = make_executable(world.dir / "other" / "stoflow-host");
  auto result = check_json(world, good_chrome(other));
  BOOST_TEST(result.state == ManifestState::kOk);  // another copy may well be the one in use
  BOOST_TEST((result.host_is_this_binary == std::optional<bool>(false)));
}

BOOST_AUTO_TEST_CASE(an_absent_manifest_is_missing_not_bad) {
  World world;
  auto result =
      check_manifest(world.dir / "none" / kManifestFileName, Flavour::kChrome, world.host, kRemedy);
  BOOST_TEST(result.state == ManifestState::kMissing);
  BOOST_TEST(result.problems.empty());
}

BOOST_AUTO_TEST_CASE(invalid_json_and_non_objects_are_bad) {
  World world;
  auto file = world.dir / kManifestFileName;
  write_file(file, "{\"name\": \"com.stoflow.companion\",");
  auto result = check_manifest(file, Flavour::kChrome, world.host, kRemedy);
  BOOST_TEST(result.state == ManifestState::kBad);
  BOOST_TEST(codes(result) == std::vector<std::string>{"invalid_json"});
  BOOST_TEST(result.problems[0].message.find("not valid JSON: parse error") == 0u);
  BOOST_TEST(result.problems[0].fix == "run installer/install.sh --browser chromium");

  write_file(file, "[1, 2]");
  BOOST_TEST(codes(check_manifest(file, Flavour::kChrome, world.host, kRemedy)) ==
             std::vector<std::string>{"not_object"});
}

BOOST_AUTO_TEST_CASE(a_directory_in_place_of_the_manifest_is_bad) {
  World world;
  fs::create_directories(world.dir / kManifestFileName);
  auto result =
      check_manifest(world.dir / kManifestFileName, Flavour::kChrome, world.host, kRemedy);
  BOOST_TEST(codes(result) == std::vector<std::string>{"not_a_file"});
}

BOOST_AUTO_TEST_CASE(wrong_name_and_type_are_named) {
  World world;
  json manifest = good_chrome(world.host);
  manifest["name"] = "com.example.other";
  manifest.erase("type");
  auto result = check_json(world, manifest);
  BOOST_TEST(result.state == ManifestState::kBad);
  BOOST_TEST(codes(result) == (std::vector<std::string>{"wrong_name", "wrong_type"}));
  BOOST_TEST(result.problems[0].message.find("\"com.example.other\"") != std::string::npos);
  BOOST_TEST(result.problems[1].message.find("has no \"type\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_host_path_must_be_an_absolute_existing_executable) {
  World world;
  auto problem_for = [&](const json& path) {
    json manifest = good_chrome(world.host);
    manifest["path"] = path;
    auto result = check_json(world, manifest);
    BOOST_REQUIRE(result.problems.size() == 1u);
    BOOST_TEST(!result.host_is_this_binary.has_value());
    return result.problems[0];
  };
  auto relative = problem_for("bin/stoflow-host");
  BOOST_TEST(relative.code == "relative_path");
  BOOST_TEST(relative.fix ==
             "reinstall: installer/install.sh --host /x/stoflow-host --browser chromium");

  auto gone = problem_for("/old/path/stoflow-host");
  BOOST_TEST(gone.code == "host_missing");
  BOOST_TEST(gone.message == "the manifest points to /old/path/stoflow-host which does not exist");

  write_file(world.dir / "plain", "not a program");
  fs::permissions(world.dir / "plain", fs::perms(0644));
  auto plain = problem_for((world.dir / "plain").string());
  BOOST_TEST(plain.code == "host_not_executable");
  BOOST_TEST(plain.fix.find("chmod 755 ") == 0u);

  BOOST_TEST(problem_for(world.dir.path().string()).code == "host_not_file");
  BOOST_TEST(problem_for(42).code == "no_path");
  BOOST_TEST(problem_for("").code == "no_path");
}

BOOST_AUTO_TEST_CASE(our_extension_must_be_allowed) {
  World world;
  json manifest = good_chrome(world.host);
  manifest["allowed_origins"] = {"chrome-extension://kikocaejcljggdneaelndeobljajgmho"};  // no '/'
  auto result = check_json(world, manifest);
  BOOST_TEST(codes(result) == std::vector<std::string>{"origin_not_allowed"});
  BOOST_TEST(result.problems[0].message.find(kOrigin) != std::string::npos);

  manifest["allowed_origins"] = {"chrome-extension://aaaabbbbccccddddeeeeffffgggghhhh/", kOrigin};
  BOOST_TEST(check_json(world, manifest).problems.empty());

  json firefox = json::parse(rendered_template("firefox", world.host));
  firefox["allowed_extensions"] = {"someone@else"};
  BOOST_TEST(codes(check_json(world, firefox, Flavour::kFirefox)) ==
             std::vector<std::string>{"extension_not_allowed"});
}

BOOST_AUTO_TEST_CASE(a_manifest_of_the_other_flavour_is_recognised) {
  World world;
  json firefox = json::parse(rendered_template("firefox", world.host));
  auto result = check_json(world, firefox, Flavour::kChrome);
  BOOST_TEST(codes(result) == std::vector<std::string>{"wrong_flavour"});
  BOOST_TEST(result.problems[0].message.find("allowed_origins") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(suggested_commands_are_shell_quoted) {
  BOOST_TEST(shell_quote("/opt/stoflow/bin/stoflow-host") == "/opt/stoflow/bin/stoflow-host");
  BOOST_TEST(shell_quote("/home/a b/x") == "'/home/a b/x'");
  BOOST_TEST(shell_quote("it's") == "'it'\\''s'");
  BOOST_TEST(shell_quote("") == "''");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(doctor_verdict)

BOOST_AUTO_TEST_CASE(an_installed_browser_without_manifest_fails) {
  World world;
  world.make_profile("chromium");
  Setup setup = world.setup();
  setup.browsers = {"chromium"};
  Report report = diagnose(setup);
  const auto& chromium = browser_in(report, "chromium");
  BOOST_TEST(chromium.installed);
  BOOST_TEST(chromium.evidence == world.home / ".config" / "chromium");
  BOOST_TEST(chromium.status == BrowserStatus::kMissing);
  BOOST_REQUIRE(chromium.missing.has_value());
  BOOST_TEST(chromium.missing->fix.find("installer/install.sh --browser chromium") !=
             std::string::npos);
  BOOST_TEST(!report.ok());
}

BOOST_AUTO_TEST_CASE(a_browser_that_is_not_installed_is_only_a_note) {
  World world;
  // install.sh creates the directories above NativeMessagingHosts itself: no sign of a browser.
  fs::create_directories(world.user_file("chromium").parent_path());
  Report report = diagnose(world.setup());
  BOOST_TEST(report.browsers.size() == 6u);
  for (const auto& browser : report.browsers) {
    BOOST_TEST(browser.status == BrowserStatus::kNotInstalled, browser.browser);
    BOOST_TEST(!browser.note.empty());
  }
  BOOST_TEST(report.ok());
}

BOOST_AUTO_TEST_CASE(locations_come_from_the_table_for_both_scopes) {
  World world;
  write_file(world.user_file("google-chrome"), good_chrome(world.host).dump());
  auto brave_system =
      world.root / "etc" / "opt" / "brave" / "native-messaging-hosts" / kManifestFileName;
  write_file(brave_system, good_chrome(world.host).dump());
  Report report = diagnose(world.setup());

  const auto& chrome = browser_in(report, "chrome");
  BOOST_TEST(chrome.status == BrowserStatus::kOk);
  BOOST_REQUIRE(chrome.locations.size() == 2u);
  BOOST_TEST(chrome.locations[0].scope == "user");
  BOOST_TEST(chrome.locations[0].manifest.file == world.user_file("google-chrome"));
  BOOST_TEST(chrome.locations[1].scope == "system");
  BOOST_TEST(chrome.locations[1].manifest.state == ManifestState::kMissing);

  const auto& brave = browser_in(report, "brave");
  BOOST_TEST(brave.status == BrowserStatus::kOk);  // the system copy is enough
  BOOST_REQUIRE(brave.locations.size() == 3u);
  BOOST_TEST(brave.locations[2].manifest.file == brave_system);
  BOOST_TEST(report.ok());
}

BOOST_AUTO_TEST_CASE(one_bad_manifest_makes_the_browser_bad_even_beside_a_good_one) {
  World world;
  write_file(world.user_file("chromium"), good_chrome(world.host).dump());
  write_file(world.root / "etc" / "chromium" / "native-messaging-hosts" / kManifestFileName, "{");
  Setup setup = world.setup();
  setup.browsers = {"chromium"};
  Report report = diagnose(setup);
  BOOST_TEST(browser_in(report, "chromium").status == BrowserStatus::kBad);
  BOOST_TEST(!report.ok());  // even though chromium does not look installed
  auto fix = browser_in(report, "chromium").locations[1].manifest.problems.at(0).fix;
  BOOST_TEST(fix == "run sudo installer/install.sh --system --browser chromium");
}

BOOST_AUTO_TEST_CASE(xdg_config_home_and_firefox_profiles_are_followed) {
  World world;
  Setup setup = world.setup();
  setup.env.xdg_config_home = (world.dir / "xdg").string();
  write_file(world.dir / "xdg" / "mozilla" / "firefox" / "profiles.ini", "[General]\n");
  write_file(world.dir / "xdg" / "vivaldi" / "Default" / "Preferences", "{}");
  Report report = diagnose(setup);
  BOOST_TEST(browser_in(report, "firefox").installed);
  BOOST_TEST(browser_in(report, "firefox").status == BrowserStatus::kMissing);
  BOOST_TEST(browser_in(report, "vivaldi").installed);
  BOOST_TEST(browser_in(report, "vivaldi").locations[0].manifest.file ==
             world.dir / "xdg" / "vivaldi" / "NativeMessagingHosts" / kManifestFileName);
  BOOST_TEST(!browser_in(report, "chrome").installed);
}

BOOST_AUTO_TEST_CASE(macos_rows_are_used_when_the_os_is_forced) {
  World world;
  Setup setup = world.setup();
  setup.forced_os = "macos";
  setup.browsers = {"chrome", "firefox"};
  write_file(world.home / "Library/Application Support/Firefox/profiles.ini", "");
  Report report = diagnose(setup);
  BOOST_TEST(report.os == Os::kMacos);
  BOOST_TEST(browser_in(report, "chrome").locations[0].manifest.file ==
             world.home / "Library/Application Support/Google/Chrome/NativeMessagingHosts" /
                 kManifestFileName);
  BOOST_TEST(browser_in(report, "chrome").locations[1].manifest.file ==
             world.root / "Library/Google/Chrome/NativeMessagingHosts" / kManifestFileName);
  BOOST_TEST(browser_in(report, "firefox").installed);

  setup.forced_os = "windows";
  BOOST_CHECK_THROW(diagnose(setup), TableError);
}

BOOST_AUTO_TEST_CASE(without_home_the_user_rows_are_reported_not_fatal) {
  World world;
  Setup setup = world.setup();
  setup.env.home.reset();
  setup.browsers = {"edge"};
  Report report = diagnose(setup);
  const auto& edge = browser_in(report, "edge");
  BOOST_TEST(edge.status == BrowserStatus::kBad);
  BOOST_TEST(edge.locations[0].manifest.problems.at(0).code == "location_unknown");
  BOOST_TEST(edge.locations[1].manifest.state == ManifestState::kMissing);
}

BOOST_AUTO_TEST_CASE(a_named_user_data_dir_must_hold_a_manifest) {
  World world;
  Setup setup = world.setup();
  setup.browsers = {"firefox"};
  setup.chrome_user_data_dirs = {world.dir / "profile"};
  Report report = diagnose(setup);
  const auto& custom = browser_in(report, kUserDataDir);
  BOOST_TEST(custom.status == BrowserStatus::kMissing);
  BOOST_TEST(custom.missing->fix.find("--chrome-user-data-dir " +
                                      (world.dir / "profile").string()) != std::string::npos);

  write_file(world.dir / "profile" / "NativeMessagingHosts" / kManifestFileName,
             good_chrome(world.host).dump());
  BOOST_TEST(browser_in(diagnose(setup), kUserDataDir).status == BrowserStatus::kOk);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(doctor_database)

BOOST_AUTO_TEST_CASE(a_missing_database_is_not_created) {
  TempDir dir;
  auto result = check_database({dir / "data" / "stoflow.db", "--db"});
  BOOST_TEST(!result.exists);
  BOOST_TEST(result.problems.empty());
  BOOST_TEST(!fs::exists(dir / "data" / "stoflow.db"));
}

BOOST_AUTO_TEST_CASE(schema_version_queue_counts_and_mode_are_read) {
  TempDir dir;
  auto path = dir / "stoflow.db";
  {
    store::Database db(path);
    store::migrate(db);
    const char* insert =
        "INSERT INTO plugin_queue (platform, operation, status, position, created_at, updated_at)"
        " VALUES ('vinted', 'publish', ?, ?, 'now', 'now')";
    db.exec(insert, "queued", 1);
    db.exec(insert, "queued", 2);
    db.exec(insert, "failed", 3);
  }
  auto result = check_database({path, "STOFLOW_DB"});
  BOOST_TEST(result.exists);
  BOOST_TEST(result.problems.empty());
  BOOST_TEST((result.schema_version == std::optional<int64_t>(store::latest_schema_version())));
  BOOST_TEST(result.queues.at("queued") == 2);
  BOOST_TEST(result.queues.at("failed") == 1);
  BOOST_TEST(result.queues.at("completed") == 0);
  BOOST_TEST(format_mode(*result.mode) == "0600");

  ::chmod(path.c_str(), 0644);
  auto loose = check_database({path, "STOFLOW_DB"});
  BOOST_REQUIRE(loose.problems.size() == 1u);
  BOOST_TEST(loose.problems[0].code == "database_mode");
  BOOST_TEST(loose.problems[0].fix.find("chmod 600 ") == 0u);
}

BOOST_AUTO_TEST_CASE(a_foreign_empty_or_non_database_file_is_told_apart) {
  TempDir dir;
  write_file(dir / "garbage.db", std::string(4096, 'x'));
  ::chmod((dir / "garbage.db").c_str(), 0600);
  auto garbage = check_database({dir / "garbage.db", "--db"});
  BOOST_TEST(garbage.state == DatabaseState::kNotADatabase);
  BOOST_TEST(garbage.failed());
  BOOST_REQUIRE(garbage.problems.size() == 1u);
  BOOST_TEST(garbage.problems[0].code == "not_a_database");
  BOOST_TEST(read_file(dir / "garbage.db") == std::string(4096, 'x'));

  // An empty file, or a database without tables: the host sets it up.
  { store::Database empty(dir / "empty.db"); }
  write_file(dir / "zero.db", "");
  for (const char* name : {"empty.db", "zero.db"}) {
    ::chmod((dir / name).c_str(), 0600);
    auto empty = check_database({dir / name, "--db"});
    BOOST_TEST(empty.state == DatabaseState::kEmpty, name);
    BOOST_TEST(!empty.failed(), name);
    BOOST_TEST(empty.problems.empty(), name);
  }
  BOOST_TEST(std::filesystem::file_size(dir / "zero.db") == 0u);

  {
    store::Database foreign(dir / "foreign.db");
    foreign.exec_script("CREATE TABLE notes (text)");
  }
  auto foreign = check_database({dir / "foreign.db", "--db"});
  BOOST_TEST(foreign.state == DatabaseState::kForeign);
  BOOST_TEST(foreign.failed());
  BOOST_REQUIRE(foreign.problems.size() == 1u);
  BOOST_TEST(foreign.problems[0].code == "not_a_stoflow_database");
}

namespace {

// A migrated database with one queued operation; returns its path.
fs::path stoflow_database(const fs::path& path) {
  store::Database db(path);
  store::migrate(db);
  db.exec(
      "INSERT INTO plugin_queue (platform, operation, status, position, created_at, updated_at)"
      " VALUES ('vinted', 'publish', 'queued', 1, 'now', 'now')");
  return path;
}

// Random bytes over the rows of schema_migrations, as in the report of issue 7.
void garble_schema_migrations(const fs::path& path) {
  int64_t end = 0;
  {
    store::Database db(path);
    auto q = db.query(
        "SELECT rootpage * (SELECT page_size FROM pragma_page_size()) FROM sqlite_master"
        " WHERE name = 'schema_migrations'");
    BOOST_REQUIRE(q.step());
    end = q.int64(0);
  }
  std::string noise(120, '\0');
  unsigned state = 6;
  for (auto& c : noise) c = static_cast<char>((state = state * 1103515245u + 12345u) >> 16);
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(end - 120);
  file.write(noise.data(), static_cast<std::streamsize>(noise.size()));
  BOOST_REQUIRE(file);
}

Report report_for(const World& world, const fs::path& db) {
  Setup setup = world.setup();
  setup.browsers = {"vivaldi"};  // not installed: only the database can fail the report
  setup.database = DatabaseLocation{db, "--db"};
  return diagnose(setup);
}

std::string text_of(const Report& report) {
  std::ostringstream out;
  print_text(report, out);
  return out.str();
}

}  // namespace

// Issue 7: random bytes in schema_migrations were read as "schema version 13", and doctor said
// "database ok. Nothing to fix.".
BOOST_AUTO_TEST_CASE(damage_is_found_by_quick_check_and_fails_the_report) {
  World world;
  auto path = stoflow_database(world.dir / "stoflow.db");
  garble_schema_migrations(path);
  std::string before = read_file(path);
  auto result = check_database({path, "--db"});
  BOOST_TEST(result.state == DatabaseState::kDamaged);
  BOOST_TEST(!result.schema_version.has_value());
  BOOST_TEST(result.queues.empty());
  BOOST_TEST(!result.damage.empty());
  BOOST_REQUIRE(result.problems.size() == 1u);
  BOOST_TEST(result.problems[0].code == "database_damaged");
  BOOST_TEST(result.problems[0].message.rfind("the database is damaged: ", 0) == 0u);
  BOOST_TEST(result.problems[0].fix.find("sqlite3 -readonly") != std::string::npos);
  BOOST_TEST(read_file(path) == before);

  Report report = report_for(world, path);
  BOOST_TEST(!report.ok());
  json j = to_json(report);
  BOOST_TEST(j["ok"] == false);
  BOOST_TEST(j["database"]["state"] == "damaged");
  BOOST_TEST(j["database"]["usable"] == false);
  BOOST_TEST(j["database"]["integrity"]["checked"] == true);
  BOOST_TEST(j["database"]["integrity"]["intact"] == false);
  BOOST_TEST(j["problems"][0]["code"] == "database_damaged");
  std::string text = text_of(report);
  BOOST_TEST(text.find("database: BAD") != std::string::npos, text);
  BOOST_TEST(text.find("  damage  ") != std::string::npos, text);
  BOOST_TEST(text.find("schema  version") == std::string::npos, text);
  // The fix's command lines stay aligned under its first line.
  BOOST_TEST(text.find("\n           (umask 077 && rm -f ") != std::string::npos, text);
  BOOST_TEST(text.find("database BAD. Fix the BAD and MISSING entries above.") != std::string::npos,
             text);
}

BOOST_AUTO_TEST_CASE(the_schema_version_is_compared_with_this_binarys) {
  World world;
  auto path = stoflow_database(world.dir / "stoflow.db");
  auto same = check_database({path, "--db"});
  BOOST_TEST(same.state == DatabaseState::kOk);
  BOOST_TEST(same.integrity_checked);
  BOOST_TEST(same.damage.empty());
  BOOST_TEST(same.binary_schema_version == store::latest_schema_version());
  BOOST_TEST(report_for(world, path).ok());
  BOOST_TEST(text_of(report_for(world, path)).find("check   intact (PRAGMA quick_check)") !=
             std::string::npos);

  {
    store::Database db(path);
    db.exec_script(testing::kUndoNewestMigration);
  }
  auto older = check_database({path, "--db"});
  BOOST_TEST(older.state == DatabaseState::kOlder);
  BOOST_TEST((older.schema_version == std::optional<int64_t>(testing::kNewestSchema - 1)));
  BOOST_TEST(older.problems.empty());
  Report older_report = report_for(world, path);
  BOOST_TEST(older_report.ok());
  BOOST_TEST(text_of(older_report)
                 .find("version " + std::to_string(testing::kNewestSchema - 1) +
                       ", older than this stoflow-host's " +
                       std::to_string(testing::kNewestSchema) +
                       ": migrated the next time the host opens it") != std::string::npos);

  {
    store::Database db(path);
    store::migrate(db);
    db.exec("INSERT INTO schema_migrations VALUES (99, 'from a newer host', 'x')");
  }
  auto newer = check_database({path, "--db"});
  BOOST_TEST(newer.state == DatabaseState::kNewer);
  BOOST_TEST((newer.schema_version == std::optional<int64_t>(99)));
  BOOST_REQUIRE(newer.problems.size() == 1u);
  BOOST_TEST(newer.problems[0].code == "database_newer");
  BOOST_TEST(newer.queues.at("queued") == 1);
  BOOST_TEST(!report_for(world, path).ok());
  BOOST_TEST(to_json(report_for(world, path))["database"]["binary_schema_version"] ==
             store::latest_schema_version());

  {
    store::Database db(path);
    db.exec("DELETE FROM schema_migrations");
  }
  auto unrecorded = check_database({path, "--db"});
  BOOST_TEST(unrecorded.state == DatabaseState::kUnrecorded);
  BOOST_TEST((unrecorded.schema_version == std::optional<int64_t>(store::latest_schema_version())));
  BOOST_TEST(report_for(world, path).ok());
}

// Too widely readable is worth fixing but does not stop the host: a warning, not a failure.
BOOST_AUTO_TEST_CASE(a_loose_mode_is_a_warning) {
  World world;
  auto path = stoflow_database(world.dir / "stoflow.db");
  ::chmod(path.c_str(), 0644);
  Report report = report_for(world, path);
  BOOST_TEST(report.ok());
  std::string text = text_of(report);
  BOOST_TEST(text.find("database: WARNING") != std::string::npos, text);
  BOOST_TEST(
      text.find("database WARNING. Nothing is broken; see the WARNING above.") != std::string::npos,
      text);
}

BOOST_AUTO_TEST_CASE(the_database_is_located_like_the_host_does) {
  ScopedEnv db_env("STOFLOW_DB", "/env/stoflow.db");
  auto from_env = locate_database(std::string("/cli.db"));
  BOOST_TEST(from_env.path == fs::path("/env/stoflow.db"));
  BOOST_TEST(from_env.source == "STOFLOW_DB");
  ScopedEnv no_db_env("STOFLOW_DB", std::nullopt);
  auto from_cli = locate_database(std::string("/cli.db"));
  BOOST_TEST(from_cli.path == fs::path("/cli.db"));
  BOOST_TEST(from_cli.source == "--db");
  BOOST_TEST(locate_database(std::nullopt).source == "default");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(doctor_report)

BOOST_AUTO_TEST_CASE(json_and_text_name_every_problem_and_its_fix) {
  World world;
  world.make_profile("chromium");
  write_file(world.firefox_file(), "not json");
  write_file(world.user_file("microsoft-edge"), good_chrome(world.host).dump());
  Setup setup = world.setup();
  setup.browsers = {"chromium", "edge", "firefox", "vivaldi"};
  setup.database = DatabaseLocation{world.dir / "none.db", "--db"};
  Report report = diagnose(setup);

  json j = to_json(report);
  BOOST_TEST(j["ok"] == false);
  BOOST_TEST(j["os"] == "linux");
  BOOST_TEST(j["host"]["path"] == world.host.string());
  BOOST_TEST(j["summary"]["ok"] == json({"edge"}));
  BOOST_TEST(j["summary"]["bad"] == json({"firefox"}));
  BOOST_TEST(j["summary"]["missing"] == json({"chromium"}));
  BOOST_TEST(j["summary"]["not_installed"] == json({"vivaldi"}));
  BOOST_TEST(j["browsers"][1]["locations"][0]["host_is_this_binary"] == true);
  BOOST_TEST(j["database"]["exists"] == false);
  BOOST_REQUIRE(j["problems"].size() == 2u);
  BOOST_TEST(j["problems"][0]["browser"] == "chromium");
  BOOST_TEST(j["problems"][0]["code"] == "not_registered");
  BOOST_TEST(j["problems"][1]["browser"] == "firefox");
  BOOST_TEST(j["problems"][1]["code"] == "invalid_json");
  BOOST_TEST(j["problems"][1]["file"] == world.firefox_file().string());

  std::ostringstream text;
  print_text(report, text);
  std::string out = text.str();
  BOOST_TEST(out.find("chromium: MISSING") != std::string::npos);
  BOOST_TEST(out.find("edge: ok") != std::string::npos);
  BOOST_TEST(out.find("firefox: BAD") != std::string::npos);
  BOOST_TEST(out.find("vivaldi: not installed") != std::string::npos);
  BOOST_TEST(out.find("fix:     run installer/install.sh --browser firefox") != std::string::npos);
  BOOST_TEST(out.find("(this binary)") != std::string::npos);
  BOOST_TEST(out.find("database: none yet") != std::string::npos);
  auto summary = out.substr(out.rfind("Summary: "));
  BOOST_TEST(summary ==
             "Summary: 1 ok (edge), 1 BAD (firefox), 1 MISSING (chromium), 1 not installed "
             "(vivaldi); database none yet. Fix the BAD and MISSING entries above.\n");
}

BOOST_AUTO_TEST_SUITE_END()
