// `stoflow-host install` and `uninstall`, the real binary in a temporary HOME (with a space in its
// path) and a temporary root standing for / in the system rows (STOFLOW_INSTALL_ROOT): every
// manifest the table names for the scope, as install.sh writes it, pointing at this binary; a
// second run changes nothing; uninstall removes ours only; and doctor agrees after each.
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "harness.h"
#include "windows_run.h"

using namespace stoflow::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = STOFLOW_SOURCE_DIR;
constexpr const char* kManifest = "com.stoflow.companion.json";
const std::string kOrigin = "chrome-extension://kikocaejcljggdneaelndeobljajgmho/";
const std::vector<std::string> kBrowsers = {"chrome", "chromium", "edge",
                                            "brave",  "vivaldi",  "firefox"};

// The path manifests must name: this binary, as the system reports it (links resolved).
std::string this_binary() {
  return fs::canonical(host_binary()).string();
}

// A temporary HOME, a root for the system rows, a private database, and only the environment
// given here (a parent XDG_CONFIG_HOME must not send anything into the real home).
struct Machine {
  TempDir dir;
  fs::path home = dir / "home dir";
  fs::path root = dir / "root";
  std::map<std::string, std::string> env;

  Machine() {
    const char* path = std::getenv("PATH");
    env = {{"PATH", path ? path : "/usr/bin:/bin"},
           {"HOME", home.string()},
           {"STOFLOW_INSTALL_ROOT", root.string()},
           {"STOFLOW_INSTALL_OS", "linux"},
           {"STOFLOW_DB", (dir / "data" / "stoflow.db").string()}};
    fs::create_directories(home);
  }

  CommandResult host(std::vector<std::string> args) const {
    args.insert(args.begin(), host_binary().string());
    return run_program(args, env, false);
  }
  CommandResult install(const std::vector<std::string>& args) const {
    std::vector<std::string> all = {"install"};
    all.insert(all.end(), args.begin(), args.end());
    return host(all);
  }
  CommandResult uninstall(const std::vector<std::string>& args) const {
    std::vector<std::string> all = {"uninstall"};
    all.insert(all.end(), args.begin(), args.end());
    return host(all);
  }
  json doctor_json(std::vector<std::string> args, int expected_exit) const {
    args.insert(args.begin(), {"doctor", "--json"});
    auto r = host(args);
    BOOST_REQUIRE_MESSAGE(r.exit_code == expected_exit, "doctor exited " << r.exit_code << "\n"
                                                                         << r.out << r.err);
    return json::parse(r.out);
  }
};

void require_ok(const CommandResult& r) {
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "exit " << r.exit_code << "\nstdout:\n"
                                                  << r.out << "stderr:\n"
                                                  << r.err);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A line of install.sh's report: "  BROWSER   ACTION   FILE".
bool reports(const std::string& out, const std::string& browser, const std::string& action,
             const fs::path& file) {
  std::istringstream lines(out);
  std::regex line("  " + browser + " +" +
                  std::regex_replace(action, std::regex(R"([()])"), R"(\$&)") + " +(.*)");
  for (std::string text; std::getline(lines, text);) {
    std::smatch m;
    if (std::regex_match(text, m, line) && m[1] == file.string()) return true;
  }
  return false;
}

struct Expected {
  fs::path file;
  std::string flavour;
  std::vector<std::string> browsers;
};

// installer/browsers.tsv read with the rules at its top, expanded as it documents: the manifests
// a run for (os, scope, browsers) must write, one per file.
std::vector<Expected> expected_manifests(const Machine& m, const std::string& scope,
                                         const std::vector<std::string>& browsers,
                                         const std::optional<fs::path>& xdg = std::nullopt) {
  std::ifstream table(kSource / "installer" / "browsers.tsv");
  std::vector<Expected> expected;
  bool header = false;
  for (std::string line; std::getline(table, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (!header) {
      header = true;
      continue;
    }
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string field; std::getline(fields, field, '\t');) f.push_back(field);
    BOOST_REQUIRE(f.size() == 5u);
    if (f[0] != "linux" || f[1] != scope) continue;
    if (std::find(browsers.begin(), browsers.end(), f[2]) == browsers.end()) continue;
    fs::path dir;
    if (f[4].rfind("~/", 0) == 0) {
      dir = m.home / f[4].substr(2);
    } else if (f[4].rfind("$XDG_CONFIG_HOME/", 0) == 0) {
      dir = xdg.value_or(m.home / ".config") / f[4].substr(17);
    } else {
      dir = fs::path(m.root.string() + f[4]);
    }
    fs::path file = dir / kManifest;
    auto same = std::find_if(expected.begin(), expected.end(),
                             [&](const Expected& e) { return e.file == file; });
    if (same != expected.end()) {
      BOOST_TEST(same->flavour == f[3]);
      same->browsers.push_back(f[2]);
    } else {
      expected.push_back({file, f[3], {f[2]}});
    }
  }
  return expected;
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  BOOST_REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Every field of one manifest, as the browsers and doctor read it.
void check_manifest(const Expected& e, const std::string& host_path) {
  BOOST_TEST_CONTEXT(e.file) {
    BOOST_REQUIRE(fs::is_regular_file(fs::symlink_status(e.file)));
    BOOST_TEST(mode_of(e.file) == 0644u);
    json m = json::parse(read_file(e.file));
    BOOST_TEST(m["name"] == "com.stoflow.companion");
    BOOST_TEST(m["type"] == "stdio");
    BOOST_TEST(m["path"] == host_path);
    BOOST_TEST(!m["description"].get<std::string>().empty());
    if (e.flavour == "chrome") {
      BOOST_TEST(m["allowed_origins"] == json::array({kOrigin}));
      BOOST_TEST(!m.contains("allowed_extensions"));
    } else {
      BOOST_TEST(m["allowed_extensions"] == json::array({"companion@stoflow.app"}));
      BOOST_TEST(!m.contains("allowed_origins"));
    }
  }
}

// Every regular file under dir.
std::set<fs::path> files_under(const fs::path& dir) {
  std::set<fs::path> files;
  if (!fs::exists(dir)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_directory()) files.insert(entry.path());
  }
  return files;
}

std::set<fs::path> files_of(const std::vector<Expected>& expected) {
  std::set<fs::path> files;
  for (const auto& e : expected) files.insert(e.file);
  return files;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(install_command,
                      *not_yet_on_windows("install and uninstall: the registry side of "
                                          "install/registry.h is still to write"))

BOOST_AUTO_TEST_CASE(installs_for_every_linux_browser_per_user) {
  Machine m;
  auto r = m.install({});
  require_ok(r);
  auto expected = expected_manifests(m, "user", kBrowsers);
  BOOST_REQUIRE(expected.size() == 6u);
  for (const auto& e : expected) {
    check_manifest(e, this_binary());
    BOOST_TEST(reports(r.out, e.browsers[0], "written", e.file), e.browsers[0] << "\n" << r.out);
  }
  // Exactly those files: no temporary file left, no data directory, nothing system-wide.
  BOOST_TEST(files_under(m.home) == files_of(expected));
  BOOST_TEST(!fs::exists(m.root));
  BOOST_TEST(!fs::exists(m.dir / "data"));
  BOOST_TEST(contains(r.out, "  host: " + this_binary() + "\n"));
  BOOST_TEST(contains(r.out, "Browsers found: none\n"));
  BOOST_TEST(contains(r.out,
                      "Not found (registered anyway, they will work once installed): "
                      "chrome chromium edge brave vivaldi firefox\n"));
  BOOST_TEST(r.err.empty());
}

BOOST_AUTO_TEST_CASE(a_second_run_changes_nothing_and_install_sh_writes_the_same_bytes) {
  Machine m;
  require_ok(m.install({}));
  auto expected = expected_manifests(m, "user", kBrowsers);
  std::map<fs::path, std::string> before;
  for (const auto& e : expected) before[e.file] = read_file(e.file);
  auto again = m.install({});
  require_ok(again);
  for (const auto& e : expected) {
    BOOST_TEST(reports(again.out, e.browsers[0], "unchanged", e.file), again.out);
    BOOST_TEST(read_file(e.file) == before[e.file]);
  }
  BOOST_TEST(files_under(m.home) == files_of(expected));

  // A mode or a host path that differs is rewritten.
  ::chmod(expected[0].file.c_str(), 0600);
  write_file(expected[5].file, "{}");
  auto fixed = m.install({});
  require_ok(fixed);
  BOOST_TEST(reports(fixed.out, expected[0].browsers[0], "updated", expected[0].file));
  BOOST_TEST(reports(fixed.out, "firefox", "updated", expected[5].file));
  for (const auto& e : expected) check_manifest(e, this_binary());

  // What installer/install.sh writes for this binary is byte for byte what install writes.
  Machine other;
  auto script = run_program(
      {(kSource / "installer" / "install.sh").string(), "--host", this_binary(), "--quiet"},
      other.env, false);
  require_ok(script);
  auto after_script = other.install({});
  require_ok(after_script);
  for (const auto& e : expected_manifests(other, "user", kBrowsers)) {
    BOOST_TEST(reports(after_script.out, e.browsers[0], "unchanged", e.file), after_script.out);
  }
}

BOOST_AUTO_TEST_CASE(browser_selects_like_install_sh_and_bad_names_are_usage_errors) {
  Machine m;
  require_ok(m.install({"--browser", "chrome", "--browser=edge,Brave"}));
  auto expected = expected_manifests(m, "user", {"chrome", "edge", "brave"});
  BOOST_TEST(files_under(m.home) == files_of(expected));
  for (const auto& e : expected) check_manifest(e, this_binary());

  Machine clean;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--browser", "netscape"},
           {"--browser", "chrome,netscape"},
           {"--browser"},
           {"--browser", ""},
           {"--frobnicate"},
           {"--db", "/tmp/stoflow.db"},
           {"--browser", "firefox", "--chrome-user-data-dir", "/tmp/profile"},
           {"extra"}}) {
    for (const auto& run : {clean.install(args), clean.uninstall(args)}) {
      BOOST_TEST(run.exit_code == 2, args.size() << " " << run.err);
      BOOST_TEST(contains(run.err, "Try 'stoflow-host "), run.err);
    }
  }
  auto netscape = clean.install({"--browser", "netscape"});
  BOOST_TEST(netscape.err ==
             "stoflow-host install: error: unknown browser 'netscape' (known: chrome chromium edge "
             "brave vivaldi firefox)\nTry 'stoflow-host install --help'.\n");
  BOOST_TEST(files_under(clean.dir.path()).empty());

  auto help = clean.install({"--help"});
  BOOST_TEST(help.exit_code == 0);
  for (const char* option : {"--system", "--user", "--browser", "--chrome-user-data-dir"}) {
    BOOST_TEST(contains(help.out, option), option);
  }
  BOOST_TEST(contains(clean.host({"--help"}).out, "stoflow-host install"));
  // --db before the command, as other commands take it: still this command's usage error.
  auto db = clean.host({"--db", "/tmp/stoflow.db", "install"});
  BOOST_TEST(db.exit_code == 2);
  BOOST_TEST(contains(db.err, "stoflow-host install: error: --db does not apply"), db.err);
}

BOOST_AUTO_TEST_CASE(system_scope_writes_under_the_install_root_and_needs_no_home) {
  Machine m;
  m.env.erase("HOME");
  auto r = m.install({"--system"});
  require_ok(r);
  auto expected = expected_manifests(m, "system", kBrowsers);
  BOOST_REQUIRE(expected.size() == 7u);  // nine rows, /etc/chromium shared by three browsers
  BOOST_TEST(files_under(m.root) == files_of(expected));
  BOOST_TEST(files_under(m.home).empty());
  for (const auto& e : expected) check_manifest(e, this_binary());
  fs::path shared = m.root / "etc/chromium/native-messaging-hosts" / kManifest;
  BOOST_TEST(reports(r.out, "chromium", "written", shared));
  BOOST_TEST(reports(r.out, "brave", "(same file)", shared), r.out);
  BOOST_TEST(reports(r.out, "vivaldi", "(same file)", shared));
  BOOST_TEST(contains(r.out, "(linux, system scope)"));

  // Per user, HOME is needed: nothing is written without it.
  auto no_home = m.install({});
  BOOST_TEST(no_home.exit_code == 1);
  BOOST_TEST(contains(no_home.err, "HOME must be set to an absolute directory"), no_home.err);
  BOOST_TEST(files_under(m.home).empty());
}

BOOST_AUTO_TEST_CASE(xdg_config_home_moves_the_chromium_family_directories) {
  Machine m;
  m.env["XDG_CONFIG_HOME"] = (m.dir / "xdg config").string();
  require_ok(m.install({"--browser", "chromium,firefox"}));
  auto expected = expected_manifests(m, "user", {"chromium", "firefox"}, m.dir / "xdg config");
  BOOST_TEST(files_under(m.dir / "xdg config") == std::set<fs::path>{expected[0].file});
  for (const auto& e : expected) check_manifest(e, this_binary());
  m.env["XDG_CONFIG_HOME"] = "relative";  // ignored, as browsers.tsv says
  require_ok(m.install({"--browser", "chromium"}));
  BOOST_TEST(fs::exists(m.home / ".config/chromium/NativeMessagingHosts" / kManifest));
}

BOOST_AUTO_TEST_CASE(uninstall_removes_ours_and_leaves_everything_else) {
  Machine m;
  auto nothing = m.uninstall({});
  require_ok(nothing);
  BOOST_TEST(contains(nothing.out, "not present"));
  BOOST_TEST(contains(nothing.out, "Done: 0 manifest(s) removed."));

  require_ok(m.install({}));
  auto expected = expected_manifests(m, "user", kBrowsers);
  fs::path chrome_dir = m.home / ".config/google-chrome/NativeMessagingHosts";
  fs::path foreign = chrome_dir / "org.keepassxc.keepassxc_browser.json";
  write_file(foreign, R"({"name": "org.keepassxc.keepassxc_browser", "path": "/x/stoflow-host"})");
  fs::path firefox = m.home / ".mozilla/native-messaging-hosts" / kManifest;
  std::string impostor =
      R"({"name": "com.someone.else", "path": "/usr/bin/stoflow-host", "type": "stdio"})";
  write_file(firefox, impostor);
  fs::path chromium = m.home / ".config/chromium/NativeMessagingHosts" / kManifest;
  std::string not_a_host =
      R"({"name": "com.stoflow.companion", "path": "/usr/bin/keepassxc-proxy", "type": "stdio"})";
  write_file(chromium, not_a_host);

  auto r = m.uninstall({});
  require_ok(r);
  BOOST_TEST(read_file(foreign).find("keepassxc") != std::string::npos);
  BOOST_TEST(read_file(firefox) == impostor);
  BOOST_TEST(read_file(chromium) == not_a_host);
  BOOST_TEST(files_under(m.home) == (std::set<fs::path>{foreign, firefox, chromium}));
  BOOST_TEST(fs::is_directory(m.home / ".config/microsoft-edge/NativeMessagingHosts"));
  BOOST_TEST(
      contains(r.err, firefox.string() + " does not name com.stoflow.companion; left alone"));
  BOOST_TEST(contains(r.err, chromium.string() + " does not point at a stoflow-host; left alone"));
  BOOST_TEST(reports(r.out, "firefox", "left alone", firefox));
  for (const char* browser : {"chrome", "edge", "brave", "vivaldi"}) {
    BOOST_TEST(contains(r.out, "  " + std::string(browser)), browser);
  }
  BOOST_TEST(reports(r.out, "chrome", "removed", chrome_dir / kManifest));
  BOOST_TEST(contains(r.out, "Done: 4 manifest(s) removed."));

  // --browser: only those.
  Machine two;
  require_ok(two.install({}));
  require_ok(two.uninstall({"--browser", "firefox"}));
  auto rest = expected_manifests(two, "user", {"chrome", "chromium", "edge", "brave", "vivaldi"});
  BOOST_TEST(files_under(two.home) == files_of(rest));
}

BOOST_AUTO_TEST_CASE(system_uninstall_keeps_a_directory_an_unselected_browser_uses) {
  Machine m;
  require_ok(m.install({"--system"}));
  fs::path shared = m.root / "etc/chromium/native-messaging-hosts" / kManifest;
  auto brave = m.uninstall({"--system", "--browser", "brave"});
  require_ok(brave);
  BOOST_TEST(fs::exists(shared));
  BOOST_TEST(reports(brave.out, "brave", "kept (used by chromium vivaldi)", shared), brave.out);
  BOOST_TEST(!fs::exists(m.root / "etc/opt/brave/native-messaging-hosts" / kManifest));
  require_ok(m.uninstall({"--system"}));
  BOOST_TEST(files_under(m.root).empty());
  BOOST_TEST(fs::is_directory(shared.parent_path()));
}

BOOST_AUTO_TEST_CASE(doctor_agrees_after_install_and_after_uninstall) {
  Machine m;
  // Browsers that have run: a Chromium profile and a Firefox profiles.ini.
  write_file(m.home / ".config" / "chromium" / "Local State", "{}");
  write_file(m.home / ".mozilla" / "firefox" / "profiles.ini", "[General]\n");
  auto before = m.doctor_json({}, 1);
  BOOST_TEST(browser_in(before, "chromium")["status"] == "missing");

  auto r = m.install({"--browser", "chromium,firefox"});
  require_ok(r);
  BOOST_TEST(contains(r.out, "Browsers found: chromium firefox\n"), r.out);
  json report = m.doctor_json({}, 0);
  BOOST_TEST(report["ok"] == true);
  BOOST_TEST(report["problems"].empty());
  for (const char* name : {"chromium", "firefox"}) {
    json b = browser_in(report, name);
    BOOST_TEST(b["status"] == "ok", name);
    BOOST_TEST(b["locations"][0]["state"] == "ok", name);
    BOOST_TEST(b["locations"][0]["host_path"] == this_binary(), name);
    BOOST_TEST(b["locations"][0]["host_is_this_binary"] == true, name);
  }

  // System-wide: doctor finds it where install --system wrote it.
  require_ok(m.install({"--system", "--browser", "chrome"}));
  json chrome = browser_in(m.doctor_json({"--browser", "chrome"}, 0), "chrome");
  BOOST_TEST(chrome["status"] == "ok");
  BOOST_TEST(chrome["locations"][1]["state"] == "ok");
  BOOST_TEST(chrome["locations"][1]["file"] ==
             (m.root / "etc/opt/chrome/native-messaging-hosts" / kManifest).string());

  // A custom profile directory, both ways.
  fs::path profile = m.dir / "kiosk profile";
  require_ok(m.install({"--browser", "chromium", "--chrome-user-data-dir", profile.string()}));
  BOOST_TEST(fs::exists(profile / "NativeMessagingHosts" / kManifest));
  m.doctor_json({"--browser", "chromium", "--chrome-user-data-dir", profile.string()}, 0);

  // After uninstall the installed browsers are missing again, and doctor says so.
  require_ok(m.uninstall({"--chrome-user-data-dir", profile.string()}));
  BOOST_TEST(!fs::exists(profile / "NativeMessagingHosts" / kManifest));
  report = m.doctor_json({}, 1);
  BOOST_TEST(browser_in(report, "chromium")["status"] == "missing");
  BOOST_TEST(browser_in(report, "firefox")["status"] == "missing");
  BOOST_TEST(browser_in(report, "chrome")["status"] == "ok");  // the system copy is still there
  require_ok(m.uninstall({"--system"}));
  BOOST_TEST(browser_in(m.doctor_json({}, 1), "chrome")["status"] == "not_installed");
}

BOOST_AUTO_TEST_CASE(an_unwritable_location_fails_with_exit_1_and_the_rest_is_written) {
  Machine m;
  // A file where a directory must be created cannot be worked around, even as root.
  write_file(m.root / "etc" / "opt", "not a directory");
  auto r = m.install({"--system"});
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(contains(r.err, "cannot create directory " + m.root.string() +
                                 "/etc/opt/chrome/native-messaging-hosts"),
             r.err);
  BOOST_TEST(contains(r.err, "manifest(s) could not be written"));
  BOOST_TEST(fs::exists(m.root / "etc/chromium/native-messaging-hosts" / kManifest));
  BOOST_TEST(fs::exists(m.root / "usr/lib/mozilla/native-messaging-hosts" / kManifest));
}

BOOST_AUTO_TEST_SUITE_END()
