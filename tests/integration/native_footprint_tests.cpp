// What the native host the browser starts loads: read from /proc/PID/maps of
// the real binary after it has answered `hello`. libcurl (and the 25
// libraries it brings) is loaded only by a process that downloads a photo
// URL (host/src/fetch/curl_api.h); OpenSSL is no longer ours (util/crypto),
// and cpp-httplib is compiled in without TLS or compression
// (cmake/httplib.cmake), so it brings no OpenSSL, zlib or brotli: none of
// them may come back unnoticed. The same binary still downloads photo URLs
// in a CLI import.
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "harness.h"
#include "local_http_server.h"
#include "windows_run.h"

using namespace stoflow::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// "libsqlite3" for /usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6: the name
// of every shared object mapped into the process.
std::set<std::string> mapped_libraries(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  BOOST_REQUIRE_MESSAGE(maps, "cannot read /proc/" << pid << "/maps");
  std::set<std::string> names;
  std::string line;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;  // anonymous, [heap], [vdso]...
    std::string name = fs::path(line.substr(slash)).filename().string();
    if (auto so = name.find(".so"); so != std::string::npos) names.insert(name.substr(0, so));
  }
  return names;
}

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : " ") + name;
  return out;
}

// Every library the native host may map, and why. Anything else fails the
// test: a new dependency of the native host is a decision, not an accident.
const std::set<std::string> kAllowed = {
    // the C and C++ runtimes
    "ld-linux-x86-64", "ld-linux-aarch64", "libc", "libm", "libstdc++", "libgcc_s",
    // the database
    "libsqlite3",
    // the sanitizer runtimes of the ASan+UBSan build
    "libasan", "libubsan"};

// What Debian's shared build of cpp-httplib, which the host once linked,
// brought into every process, named so that a message says what came back.
const std::set<std::string> kGone = {"libcpp-httplib",  "libssl",       "libcrypto",   "libz",
                                     "libbrotlicommon", "libbrotlidec", "libbrotlienc"};

// A PNG served on 127.0.0.1, counting its downloads.
struct PhotoServer {
  std::atomic<int> hits{0};
  std::string photo = png_bytes(40'000, 21);
  LocalHttpServer http{[this](httplib::Server& server) {
    server.Get("/photo.png", [this](const httplib::Request&, httplib::Response& res) {
      ++hits;
      res.set_content(photo, "image/png");
    });
  }};

  std::string address() const { return http.address(); }
  std::string url() const { return http.url("/photo.png"); }
};

// The libraries of a native host started on `env` that has answered hello.
std::set<std::string> native_host_libraries(std::map<std::string, std::string> env) {
  // What the binary loads by itself, not what the test runner preloads.
  env["LD_PRELOAD"] = "";
  HostProcess host(env);
  json hello = host.result_of("hello", {{"client", "footprint test"}});
  BOOST_TEST(hello["host"] == "stoflow-host");
  return mapped_libraries(host.pid());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(native_footprint)

BOOST_AUTO_TEST_CASE(the_native_host_maps_no_libcurl_no_tls_and_nothing_outside_its_list,
                     *posix_host_only("reads the mapped libraries from /proc")) {
  HostEnv env;
  auto libraries = native_host_libraries(env.env);
  BOOST_TEST_MESSAGE("native host maps: " << joined(libraries));
  // The list is read right: what every run maps is in it.
  BOOST_TEST(libraries.contains("libc"), joined(libraries));
  BOOST_TEST(libraries.contains("libsqlite3"), joined(libraries));

  BOOST_TEST(!libraries.contains("libcurl"), joined(libraries));
  BOOST_TEST(!libraries.contains("libcurl-gnutls"), joined(libraries));
  for (const auto& name : kGone) {
    BOOST_TEST(!libraries.contains(name), name << " is mapped again: " << joined(libraries));
  }
  std::set<std::string> unexpected;
  for (const auto& name : libraries) {
    if (!kAllowed.contains(name)) unexpected.insert(name);
  }
  BOOST_TEST(unexpected.empty(), "mapped but not in the list: " << joined(unexpected));
}

// The same binary still downloads a photo URL where one is imported: the CLI
// fetches it (loading libcurl then), stores it under the SHA-256 of its
// bytes (as sha256sum computes it), and a native host then reads those very
// bytes back, still without loading libcurl.
BOOST_AUTO_TEST_CASE(a_cli_import_still_downloads_a_photo_url,
                     *not_yet_on_windows("photo URLs: no HTTP client in the Windows build")) {
  HostEnv env;
  PhotoServer server;
  env.env["STOFLOW_ALLOW_PRIVATE_PHOTO_URLS"] = server.address();
  auto file = write_product_file(env.dir / "catalogue",
                                 json::array({vinted_product("Remote photo", {server.url()})}));
  auto imported = env.cli_within({"products", "import", file.string()}, 20s);
  BOOST_REQUIRE_MESSAGE(imported.exit_code == 0, imported.err);
  BOOST_TEST(server.hits == 1);

  auto listed = env.cli({"products", "list", "--json"});
  BOOST_REQUIRE_MESSAGE(listed.exit_code == 0, listed.err);
  json image = json::parse(listed.out).at(0).at("images").at(0);
  BOOST_TEST(image["source"] == server.url());

  write_file(env.dir / "served.png", server.photo);
  auto sum = run_program({"/usr/bin/sha256sum", (env.dir / "served.png").string()}, {}, true);
  BOOST_REQUIRE_MESSAGE(sum.exit_code == 0, sum.err);
  BOOST_TEST(image["blob"] == sum.out.substr(0, 64));

  std::map<std::string, std::string> host_env = env.env;
  host_env["LD_PRELOAD"] = "";
  HostProcess host(host_env);
  json chunk = host.result_of("blobs.read",
                              {{"blob", image["blob"]}, {"offset", 0}, {"length", 512 * 1024}});
  BOOST_TEST(chunk["eof"] == true);
  BOOST_TEST((base64_decode(chunk["data"]) == server.photo));
  auto libraries = mapped_libraries(host.pid());
  BOOST_TEST(libraries.contains("libsqlite3"), joined(libraries));
  BOOST_TEST(!libraries.contains("libcurl"), joined(libraries));
}

BOOST_AUTO_TEST_SUITE_END()
