// stoflow-host install / uninstall, the core (host/src/install): the built-in templates and how
// they are filled, the rule for "ours", the failures one location at a time, and the windows rows
// through a Registry kept in a map (the real one is the Windows port's).
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <map>

#include "doctor/manifest_check.h"
#include "install/installer.h"
#include "install/manifest_text.h"
#include "install/registry.h"
#include "test_support.h"

using namespace stoflow::install;
using nlohmann::json;
using stoflow::doctor::Flavour;
using stoflow::doctor::kManifestFileName;
using stoflow::doctor::Os;
using stoflow::doctor::Scope;
using stoflow::testing::read_file;
using stoflow::testing::TempDir;
using stoflow::testing::write_file;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = STOFLOW_SOURCE_DIR;
const std::string kOrigin = "chrome-extension://kikocaejcljggdneaelndeobljajgmho/";

std::string template_file(const char* flavour) {
  return read_file(kSource / "manifest" / (std::string(flavour) + ".json.in"));
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  BOOST_REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// A temporary HOME and root for the linux rows.
struct World {
  TempDir dir;
  fs::path home = dir / "home dir";
  fs::path root = dir / "root";

  Environment env() const {
    Environment e;
    e.os = Os::kLinux;
    e.paths = {home.string(), std::nullopt, root.string()};
    e.host = dir / "bin" / "stoflow-host";
    return e;
  }
  fs::path user_file(const std::string& config_dir) const {
    return home / ".config" / config_dir / "NativeMessagingHosts" / kManifestFileName;
  }
};

const Step& step_for(const Outcome& outcome, const std::string& target) {
  for (const auto& step : outcome.steps) {
    if (step.target == target) return step;
  }
  throw std::runtime_error("no step for " + target);
}

// The registry as a map from key to default value, with a switch to make writes fail.
class MapRegistry : public Registry {
 public:
  std::map<std::string, std::string> keys;
  bool refuse = false;

  std::optional<std::string> default_value(const std::string& key) const override {
    auto it = keys.find(key);
    return it == keys.end() ? std::nullopt : std::optional(it->second);
  }
  void set_default_value(const std::string& key, const std::string& value) override {
    if (refuse) throw std::runtime_error("access denied");
    keys[key] = value;
  }
  void remove(const std::string& key) override {
    if (refuse) throw std::runtime_error("access denied");
    keys.erase(key);
  }
};

const std::string kGoogleKey =
    "HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\com.stoflow.companion";

}  // namespace

namespace stoflow::install {
std::ostream& operator<<(std::ostream& out, Action action) {
  return out << to_string(action);
}
}  // namespace stoflow::install

BOOST_AUTO_TEST_SUITE(install_manifests)

BOOST_AUTO_TEST_CASE(the_built_in_templates_are_the_installers) {
  BOOST_TEST(std::string(builtin_template(Flavour::kChrome)) == template_file("chrome"));
  BOOST_TEST(std::string(builtin_template(Flavour::kFirefox)) == template_file("firefox"));
}

BOOST_AUTO_TEST_CASE(a_manifest_is_the_template_filled_in_as_install_sh_does) {
  std::string chrome = render_manifest(Flavour::kChrome, "/opt/s/stoflow-host");
  std::string expected = template_file("chrome");
  while (expected.back() == '\n') expected.pop_back();
  expected.replace(expected.find("@HOST_PATH@"), 11, "/opt/s/stoflow-host");
  BOOST_TEST(chrome == expected + "\n");
  json parsed = json::parse(chrome);
  BOOST_TEST(parsed["path"] == "/opt/s/stoflow-host");
  BOOST_TEST(parsed["allowed_origins"] == json::array({kOrigin}));
  json firefox = json::parse(render_manifest(Flavour::kFirefox, "/x/stoflow-host"));
  BOOST_TEST(firefox["allowed_extensions"] == json::array({"companion@stoflow.app"}));
  BOOST_TEST(!firefox.contains("allowed_origins"));
}

BOOST_AUTO_TEST_CASE(the_host_path_is_a_json_string_body) {
  std::string odd = "/a \"quoted\" \\ dir/\xc3\xa9t\xc3\xa9/@HOST_PATH@/stoflow-host";
  BOOST_TEST(json::parse(render_manifest(Flavour::kChrome, odd))["path"] == odd);
  BOOST_TEST(json_string_body("a\"b\\c") == "a\\\"b\\\\c");
  BOOST_TEST(json_string_body(std::string("a\nb\x01", 4)) == "a\\u000ab\\u0001");
  BOOST_TEST(render_manifest("x @HOST_PATH@ @HOST_PATH@\n\n\n", "p") == "x p p\n");
  BOOST_CHECK_THROW(render_manifest("{}", "/p"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(ours_means_our_name_and_a_stoflow_host_path) {
  auto manifest = [](json name, json path) {
    return json{{"name", name}, {"path", path}, {"type", "stdio"}}.dump();
  };
  BOOST_TEST(!why_not_ours(manifest("com.stoflow.companion", "/usr/bin/stoflow-host")));
  BOOST_TEST(!why_not_ours(manifest("com.stoflow.companion", "/moved/away/stoflow-host")));
  BOOST_TEST(!why_not_ours(manifest("com.stoflow.companion", "C:\\StoFlow\\stoflow-host.exe")));
  BOOST_TEST(*why_not_ours(manifest("com.someone.else", "/usr/bin/stoflow-host")) ==
             "does not name com.stoflow.companion");
  BOOST_TEST(*why_not_ours(manifest("com.stoflow.companion", "/usr/bin/keepassxc-proxy")) ==
             "does not point at a stoflow-host");
  BOOST_TEST(*why_not_ours(manifest("com.stoflow.companion", "/usr/bin/not-stoflow-host")) ==
             "does not point at a stoflow-host");
  BOOST_TEST(*why_not_ours(manifest("com.stoflow.companion", 3)) ==
             "does not point at a stoflow-host");
  BOOST_TEST(*why_not_ours("{\"name\": \"com.stoflow.companion\",") == "is not a JSON object");
  BOOST_TEST(*why_not_ours("[]") == "is not a JSON object");
  BOOST_TEST(names_a_stoflow_host("stoflow-host"));
  BOOST_TEST(!names_a_stoflow_host("/usr/bin/stoflow-host/"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(install_files)

BOOST_AUTO_TEST_CASE(one_location_in_the_way_fails_alone) {
  World world;
  fs::create_directories(world.user_file("chromium"));  // a directory where the file goes
  Outcome outcome = install({}, world.env());
  BOOST_TEST(outcome.count(Action::kFailed) == 1u);
  const Step& failed = step_for(outcome, world.user_file("chromium").string());
  BOOST_TEST(failed.action == Action::kFailed);
  BOOST_TEST(failed.detail.find("exists and is not a regular file") != std::string::npos);
  BOOST_TEST(outcome.count(Action::kWritten) == 5u);
  BOOST_TEST(fs::is_regular_file(world.user_file("google-chrome")));
}

BOOST_AUTO_TEST_CASE(modes_links_and_the_umask_do_not_change_what_is_written) {
  World world;
  mode_t old_umask = ::umask(077);
  Outcome first = install({Scope::kSystem, {"chrome"}, {}}, world.env());
  ::umask(old_umask);
  fs::path file = world.root / "etc/opt/chrome/native-messaging-hosts" / kManifestFileName;
  BOOST_TEST(step_for(first, file.string()).action == Action::kWritten);
  BOOST_TEST(mode_of(file) == 0644u);
  for (fs::path dir = file.parent_path(); dir != world.root; dir = dir.parent_path()) {
    BOOST_TEST(mode_of(dir) == 0755u, dir);  // readable by every user's browser
  }
  BOOST_TEST(first.probed);

  ::chmod(file.c_str(), 0600);
  Outcome again = install({Scope::kSystem, {"chrome"}, {}}, world.env());
  BOOST_TEST(step_for(again, file.string()).action == Action::kUpdated);
  BOOST_TEST(mode_of(file) == 0644u);

  // A link in place of the manifest is replaced by a file; what it pointed to is not written.
  fs::path elsewhere = world.dir / "elsewhere.json";
  write_file(elsewhere, "{}");
  fs::remove(file);
  fs::create_symlink(elsewhere, file);
  Outcome relinked = install({Scope::kSystem, {"chrome"}, {}}, world.env());
  BOOST_TEST(step_for(relinked, file.string()).action == Action::kUpdated);
  BOOST_TEST(!fs::is_symlink(file));
  BOOST_TEST(read_file(elsewhere) == "{}");
  BOOST_TEST(
      step_for(install({Scope::kSystem, {"chrome"}, {}}, world.env()), file.string()).action ==
      Action::kUnchanged);
  // No temporary file is left behind.
  BOOST_TEST(std::distance(fs::directory_iterator(file.parent_path()), {}) == 1);
}

BOOST_AUTO_TEST_CASE(a_per_user_request_without_home_changes_nothing) {
  World world;
  Environment env = world.env();
  env.paths.home = "relative/home";
  BOOST_CHECK_THROW(install({}, env), stoflow::doctor::TableError);
  BOOST_CHECK_THROW(uninstall({}, env), stoflow::doctor::TableError);
  BOOST_TEST(!fs::exists(world.root));
  // The system rows need none.
  env.paths.home.reset();
  BOOST_TEST(install({Scope::kSystem, {}, {}}, env).count(Action::kWritten) == 7u);
  env.host = "relative/stoflow-host";
  BOOST_CHECK_THROW(install({Scope::kSystem, {}, {}}, env), InstallError);
}

BOOST_AUTO_TEST_CASE(found_is_doctors_looks_installed) {
  World world;
  write_file(world.home / ".config" / "vivaldi" / "Local State", "{}");
  write_file(world.home / ".mozilla" / "firefox" / "profiles.ini", "");
  Outcome outcome = install({Scope::kUser, {"chrome", "vivaldi", "firefox"}, {}}, world.env());
  BOOST_TEST(outcome.found == (std::vector<std::string>{"vivaldi", "firefox"}));
  BOOST_TEST(outcome.not_found == (std::vector<std::string>{"chrome"}));
}

BOOST_AUTO_TEST_CASE(uninstall_leaves_what_is_not_ours) {
  World world;
  install({}, world.env());
  write_file(world.user_file("chromium"),
             json{{"name", "com.stoflow.companion"}, {"path", "/usr/bin/other-host"}}.dump());
  fs::remove(world.user_file("vivaldi"));
  fs::create_directory(world.user_file("vivaldi"));
  Outcome outcome = uninstall({}, world.env());
  BOOST_TEST(step_for(outcome, world.user_file("chromium").string()).action == Action::kLeftAlone);
  BOOST_TEST(step_for(outcome, world.user_file("chromium").string()).detail ==
             world.user_file("chromium").string() +
                 " does not point at a stoflow-host; left alone");
  BOOST_TEST(step_for(outcome, world.user_file("vivaldi").string()).action == Action::kLeftAlone);
  BOOST_TEST(outcome.count(Action::kRemoved) == 4u);
  BOOST_TEST(fs::exists(world.user_file("chromium")));
  BOOST_TEST(!fs::exists(world.user_file("google-chrome")));
  BOOST_TEST(fs::is_directory(world.user_file("google-chrome").parent_path()));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(install_windows)

namespace {
struct WindowsWorld {
  TempDir dir;
  MapRegistry registry;

  Environment env() {
    Environment e;
    e.os = Os::kWindows;
    e.host = "C:\\Tools\\StoFlow\\stoflow-host.exe";
    e.registry = &registry;
    e.windows_manifest_dir = dir / "StoFlow" / "NativeMessagingHosts";
    return e;
  }
  fs::path manifest(const char* flavour) {
    return dir / "StoFlow" / "NativeMessagingHosts" / flavour / kManifestFileName;
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(every_windows_row_gets_its_key_pointing_at_a_manifest_per_flavour) {
  WindowsWorld world;
  Outcome outcome = install({}, world.env());
  BOOST_TEST(world.registry.keys.size() == 6u);  // 8 rows, Google's key shared by three
  BOOST_TEST(world.registry.keys.at(kGoogleKey) == world.manifest("chrome").string());
  BOOST_TEST(world.registry.keys.at(
                 "HKCU\\Software\\Mozilla\\NativeMessagingHosts\\com.stoflow.companion") ==
             world.manifest("firefox").string());
  BOOST_TEST(json::parse(read_file(world.manifest("chrome")))["path"] ==
             "C:\\Tools\\StoFlow\\stoflow-host.exe");
  BOOST_TEST(outcome.count(Action::kSet) == 6u);
  BOOST_TEST(outcome.count(Action::kSameTarget) == 2u);
  BOOST_TEST(outcome.count(Action::kWritten) == 2u);
  BOOST_TEST(!outcome.probed);

  Outcome again = install({}, world.env());
  BOOST_TEST(again.count(Action::kUnchanged) == 8u);  // 6 keys, 2 manifests

  world.registry.refuse = true;
  world.registry.keys.erase(kGoogleKey);
  Outcome refused = install({Scope::kUser, {"chrome"}, {}}, world.env());
  BOOST_TEST(step_for(refused, kGoogleKey).action == Action::kFailed);
  BOOST_TEST(step_for(refused, kGoogleKey).detail.find("access denied") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(uninstall_keeps_a_key_another_browser_uses_and_then_the_manifest) {
  WindowsWorld world;
  install({}, world.env());
  Outcome brave = uninstall({Scope::kUser, {"brave"}, {}}, world.env());
  BOOST_TEST(step_for(brave, kGoogleKey).action == Action::kKept);
  BOOST_TEST(step_for(brave, kGoogleKey).detail == "chrome vivaldi");
  BOOST_TEST(!world.registry.default_value(
      "HKCU\\Software\\BraveSoftware\\Brave-Browser\\NativeMessagingHosts\\com.stoflow.companion"));
  BOOST_TEST(fs::exists(world.manifest("chrome")));  // still named by other keys

  Outcome rest = uninstall({}, world.env());
  BOOST_TEST(world.registry.keys.empty());
  BOOST_TEST(!fs::exists(world.manifest("chrome")));
  BOOST_TEST(!fs::exists(world.manifest("firefox")));
  BOOST_TEST(step_for(rest, world.manifest("firefox").string()).action == Action::kRemoved);
}

BOOST_AUTO_TEST_CASE(windows_requests_it_cannot_carry_out_change_nothing) {
  WindowsWorld world;
  Environment env = world.env();
  BOOST_CHECK_THROW(install({Scope::kSystem, {}, {}}, env), InstallError);  // HKCU only
  BOOST_CHECK_THROW(install({Scope::kUser, {}, {world.dir / "profile"}}, env), InstallError);
  env.registry = nullptr;
  BOOST_CHECK_THROW(install({}, env), InstallError);
  BOOST_CHECK_THROW(uninstall({}, env), InstallError);
  BOOST_TEST(!fs::exists(world.dir / "StoFlow"));
  // POSIX builds have no registry at all.
  BOOST_TEST(!system_registry());
}

BOOST_AUTO_TEST_SUITE_END()
