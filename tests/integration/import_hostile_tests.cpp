// `products import` fed a catalogue written by someone else: photos that are
// FIFOs, links to files outside the catalogue's folder, text files with an
// image name, URLs of other schemes or of this machine's own servers, numbers
// no double holds, and a store that cannot be written. Each is refused with a
// message that says what and why, and nothing of the import is written.
#include <fcntl.h>
#include <httplib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <thread>

#include "harness.h"
#include "local_http_server.h"
#include "windows_run.h"

using namespace stoflow::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

fs::path catalogue(const HostEnv& env) {
  return env.dir / "catalogue";
}

json product_list(const HostEnv& env) {
  auto r = env.cli({"products", "list", "--json"});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return json::parse(r.out);
}

// The catalogue written to catalogue/products.json, imported, killed after 20 s.
CommandResult import_catalogue(const HostEnv& env, const json& products,
                               const std::vector<std::string>& extra = {}) {
  auto file = write_product_file(catalogue(env), products);
  std::vector<std::string> args = {"products", "import", file.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return env.cli_within(args, 20s);
}

// A product whose only photo is `photo`, after a good product: a refusal must
// leave the good one out too.
json good_then(const std::string& photo) {
  return json::array({vinted_product("Good", {"photos/good.png"}), vinted_product("Bad", {photo})});
}

// Imports `products` and requires a refusal that names the photo and the
// file and says `why`, with nothing written. Returns the message.
std::string require_refused(const HostEnv& env, const json& products, const std::string& photo,
                            const std::string& why, const std::vector<std::string>& extra = {}) {
  auto r = import_catalogue(env, products, extra);
  BOOST_TEST_CONTEXT(photo << ": " << r.err) {
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(contains(r.err, photo));
    BOOST_TEST(contains(r.err, why));
    BOOST_TEST(contains(r.err, "products.json: product #"));
    BOOST_TEST(r.out.empty());
  }
  BOOST_TEST(product_list(env).empty(), photo << " left a product behind");
  return r.err;
}

// A real HTTP server on 127.0.0.1 that counts the requests it answers.
struct PhotoServer {
  std::atomic<int> hits{0};
  std::string good = png_bytes(20'000, 8);
  LocalHttpServer http{[this](httplib::Server& server) {
    server.Get("/good.png", [this](const httplib::Request&, httplib::Response& res) {
      ++hits;
      res.set_content(good, "image/png");
    });
    server.Get("/page.png", [this](const httplib::Request&, httplib::Response& res) {
      ++hits;
      res.set_content("<html>a login page</html>", "image/png");
    });
    server.Get(R"(/to/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
      ++hits;
      res.set_redirect("http://127.0.0.1:" + std::string(req.matches[1]) + "/good.png");
    });
  }};
  int port = http.port();

  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return http.url(path, host);
  }
  std::string address() const { return http.address(); }
};

void backdate(const fs::path& path, std::chrono::seconds by) {
  fs::last_write_time(path, fs::file_time_type::clock::now() - by);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(import_hostile)

BOOST_AUTO_TEST_CASE(
    a_fifo_named_as_a_photo_is_refused_at_once,
    *posix_host_only("makes a FIFO (mkfifo); Windows has none in its file system")) {
  HostEnv env;
  write_file(catalogue(env) / "photos" / "good.png", png_bytes(3000, 1));
  fs::path fifo = catalogue(env) / "photos" / "front.jpg";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Before the fix the import opened the FIFO blocking and waited for a
  // writer forever: cli_within kills it after 20 s and the test fails.
  std::string err = require_refused(env, good_then("photos/front.jpg"), "photos/front.jpg",
                                    "is a FIFO (named pipe), not a regular file");
  BOOST_TEST(contains(err, "product #2 (\"Bad\"): photo \"photos/front.jpg\""), err);
  // The same through a link inside the folder, and other kinds of files.
  fs::create_symlink("front.jpg", catalogue(env) / "photos" / "link.jpg");
  require_refused(env, good_then("photos/link.jpg"), "photos/link.jpg", "is a FIFO");
  fs::create_directories(catalogue(env) / "photos" / "folder.jpg");
  require_refused(env, good_then("photos/folder.jpg"), "photos/folder.jpg",
                  "is a directory, not a regular file");
  require_refused(env, good_then("/dev/zero"), "/dev/zero", "is a character device",
                  {"--allow-outside-photos"});

  // A FIFO named as the catalogue itself does not hang the command either.
  fs::path fifo_catalogue = env.dir / "catalogue.json";
  BOOST_REQUIRE(::mkfifo(fifo_catalogue.c_str(), 0600) == 0);
  auto r = env.cli_within({"products", "import", fifo_catalogue.string()}, 20s);
  BOOST_TEST(r.exit_code == 1, r.err);
  BOOST_TEST(contains(r.err, "catalogue.json is not a regular file"), r.err);
}

BOOST_AUTO_TEST_CASE(
    a_link_to_a_file_outside_the_folder_is_refused,
    *posix_host_only(
        "its expected messages spell the folder as Linux does; the exe writes Z:\\...")) {
  HostEnv env;
  write_file(catalogue(env) / "photos" / "good.png", png_bytes(3000, 1));
  // A real image outside the folder: only the folder rule can refuse it.
  fs::path outside = env.dir / "elsewhere" / "private.png";
  write_file(outside, png_bytes(4000, 2));
  fs::create_symlink(outside, catalogue(env) / "photos" / "front.png");
  std::string err = require_refused(
      env, good_then("photos/front.png"), "photos/front.png",
      "leads to " + outside.string() + " through a symbolic link, outside the catalogue's folder");
  BOOST_TEST(contains(err, "pass --allow-outside-photos"), err);
  // A linked folder that leaves, and the issue's own example.
  fs::create_directory_symlink(env.dir / "elsewhere", catalogue(env) / "linked");
  require_refused(env, good_then("linked/private.png"), "linked/private.png",
                  "outside the catalogue's folder");
  fs::create_symlink("/etc/passwd", catalogue(env) / "photos" / "shadow.jpg");
  require_refused(env, good_then("photos/shadow.jpg"), "photos/shadow.jpg",
                  "leads to /etc/passwd through a symbolic link");
  // The seller's explicit choice lets the link in, but not a file that is
  // no image: /etc/passwd is refused by its bytes.
  require_refused(env, good_then("photos/shadow.jpg"), "photos/shadow.jpg",
                  "is not a JPEG, PNG or WebP image", {"--allow-outside-photos"});
  auto allowed = import_catalogue(env, good_then("photos/front.png"), {"--allow-outside-photos"});
  BOOST_REQUIRE_MESSAGE(allowed.exit_code == 0, allowed.err);
  json products = product_list(env);
  BOOST_REQUIRE(products.size() == 2);
  BOOST_TEST(products[1]["images"][0]["size"] == fs::file_size(outside));
}

BOOST_AUTO_TEST_CASE(links_and_paths_inside_the_folder_are_fine) {
  HostEnv env;
  std::string bytes = png_bytes(5000, 3);
  write_file(catalogue(env) / "originals" / "a.png", bytes);
  fs::create_directories(catalogue(env) / "photos");
  fs::create_symlink("../originals/a.png", catalogue(env) / "photos" / "alias.png");
  fs::create_directory_symlink("originals", catalogue(env) / "current");
  json products = json::array({vinted_product(
      "Linked", {"photos/alias.png", "current/a.png", (catalogue(env) / "originals/a.png").string(),
                 "photos/../originals/a.png"})});
  auto r = import_catalogue(env, products);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  json images = product_list(env)[0]["images"];
  BOOST_REQUIRE(images.size() == 4);
  for (const auto& image : images) BOOST_TEST(image["size"] == bytes.size());
}

BOOST_AUTO_TEST_CASE(
    paths_leaving_the_folder_need_the_flag,
    *posix_host_only(
        "its expected messages spell the folder as Linux does; the exe writes Z:\\...")) {
  HostEnv env;
  write_file(catalogue(env) / "photos" / "good.png", png_bytes(3000, 1));
  fs::path outside = env.dir / "elsewhere" / "b.png";
  write_file(outside, png_bytes(3000, 4));
  for (const std::string& photo : {std::string("../elsewhere/b.png"), outside.string(),
                                   std::string("photos/../../elsewhere/b.png")}) {
    require_refused(env, good_then(photo), photo,
                    "is outside the catalogue's folder " + fs::canonical(catalogue(env)).string());
  }
  auto r = import_catalogue(
      env, json::array({vinted_product("Outside", {"../elsewhere/b.png", outside.string()})}),
      {"--allow-outside-photos"});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(product_list(env).size() == 1);
  // The flag belongs to import alone.
  BOOST_TEST(env.cli({"queues", "--allow-outside-photos"}).exit_code == 2);
  BOOST_TEST(contains(env.cli({"--help"}).out, "--allow-outside-photos"));
}

BOOST_AUTO_TEST_CASE(a_photo_is_an_image_by_its_bytes_not_its_name) {
  HostEnv env;
  write_file(catalogue(env) / "photos" / "good.png", png_bytes(3000, 1));
  write_file(catalogue(env) / "photos" / "notes.png", "buy milk\n");
  write_file(catalogue(env) / "photos" / "anim.webp", "GIF89a\x01\x00\x01\x00");
  write_file(catalogue(env) / "photos" / "empty.jpg", "");
  require_refused(env, good_then("photos/notes.png"), "photos/notes.png",
                  "is not a JPEG, PNG or WebP image");
  require_refused(env, good_then("photos/anim.webp"), "photos/anim.webp",
                  "is not a JPEG, PNG or WebP image");
  require_refused(env, good_then("photos/empty.jpg"), "photos/empty.jpg", "is empty");
  write_file(catalogue(env) / "photos" / "real.jpg", jpeg_like_bytes(3000, 2));
  std::string webp("RIFF\x10\x00\x00\x00WEBPVP8 ", 16);
  write_file(catalogue(env) / "photos" / "named.bin", webp + std::string(64, 'x'));
  auto r = import_catalogue(
      env, json::array({vinted_product("Images", {"photos/real.jpg", "photos/named.bin"})}));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  json images = product_list(env)[0]["images"];
  BOOST_TEST(images[0]["content_type"] == "image/jpeg");
  BOOST_TEST(images[1]["content_type"] == "image/webp");
}

BOOST_AUTO_TEST_CASE(other_url_schemes_are_named_not_taken_for_missing_files,
                     *not_yet_on_windows("photo URLs: no HTTP client in the Windows build")) {
  HostEnv env;
  write_file(catalogue(env) / "photos" / "good.png", png_bytes(3000, 1));
  for (const auto& [photo, scheme] :
       std::vector<std::pair<std::string, std::string>>{{"file:///etc/passwd", "file"},
                                                        {"gopher://example.org/1/a.png", "gopher"},
                                                        {"FTP://example.org/a.png", "FTP"}}) {
    require_refused(env, good_then(photo), photo,
                    "the scheme " + scheme +
                        " is not supported; use https://... or a path relative to the catalogue "
                        "file");
  }
  // Upper-case HTTP is http.
  PhotoServer photos;
  env.env["STOFLOW_ALLOW_PRIVATE_PHOTO_URLS"] = photos.address();
  std::string upper = "HTTP://127.0.0.1:" + std::to_string(photos.port) + "/good.png";
  auto r = import_catalogue(env, json::array({vinted_product("Upper", {upper})}));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(product_list(env)[0]["images"][0]["source"] == photos.url("/good.png"));
  BOOST_TEST(photos.hits == 1);
}

BOOST_AUTO_TEST_CASE(photo_urls_must_lead_to_public_addresses,
                     *not_yet_on_windows("photo URLs: no HTTP client in the Windows build")) {
  HostEnv env;
  write_file(catalogue(env) / "photos" / "good.png", png_bytes(3000, 1));
  PhotoServer photos, other;
  // Explicitly off, whatever the environment the tests run in says.
  env.env["STOFLOW_ALLOW_PRIVATE_PHOTO_URLS"] = "0";
  for (const auto& [url, why] : std::vector<std::pair<std::string, std::string>>{
           {photos.url("/good.png"), photos.address() + ", a loopback address"},
           // A name is judged by the address it resolves to.
           {photos.url("/good.png", "localhost"), "a loopback address"},
           {photos.url("/good.png", "[::ffff:127.0.0.1]"), "a loopback address"},
           {"http://0.0.0.0:" + std::to_string(photos.port) + "/good.png",
            "an unspecified address"}}) {
    std::string err = require_refused(env, good_then(url), url, "it leads to");
    BOOST_TEST(contains(err, why), err);
    BOOST_TEST(contains(err, "photo URLs must point to a server on the public internet"), err);
  }
  BOOST_TEST(photos.hits == 0);

  // The escape hatch for one address: a redirect from it to another private
  // address is refused all the same, before any request reaches that one.
  env.env["STOFLOW_ALLOW_PRIVATE_PHOTO_URLS"] = photos.address();
  std::string hop = photos.url("/to/" + std::to_string(other.port));
  require_refused(env, good_then(hop), hop, "it leads to " + other.address());
  BOOST_TEST(photos.hits >= 1);
  BOOST_TEST(other.hits == 0);
  // The bytes of a download must be an image too.
  require_refused(env, good_then(photos.url("/page.png")), photos.url("/page.png"),
                  "is not a JPEG, PNG or WebP image");

  env.env["STOFLOW_ALLOW_PRIVATE_PHOTO_URLS"] = "1";
  auto r = import_catalogue(env, json::array({vinted_product("Local", {hop})}));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(other.hits == 1);
}

BOOST_AUTO_TEST_CASE(a_read_only_store_says_why,
                     *posix_host_only("makes the store read-only with file modes")) {
  HostEnv env;
  write_file(catalogue(env) / "photos" / "good.png", png_bytes(3000, 1));
  BOOST_REQUIRE(env.cli({"queues"}).exit_code == 0);  // creates the store
  fs::path blobs = env.db() + "-blobs";
  BOOST_REQUIRE(fs::is_directory(blobs / "tmp"));
  // The store, and only it, read-only, in a mount namespace of the command's own.
  std::string script =
      "mount --bind \"$1\" \"$1\" && mount -o remount,ro,bind \"$1\" \"$1\" || exit 99; "
      "shift; exec \"$@\"";
  auto probe = run_program_within(
      {"/usr/bin/unshare", "-m", "/bin/sh", "-c", script, "sh", blobs.string(), "/bin/true"},
      env.env, 20s);
  // ./scripts/test runs as root, where this works; anywhere else the test says so and fails.
  BOOST_REQUIRE_MESSAGE(probe.exit_code == 0,
                        "cannot mount in a private namespace (run as root): " << probe.err);
  auto file = write_product_file(catalogue(env),
                                 json::array({vinted_product("Good", {"photos/good.png"})}));
  auto r =
      run_program_within({"/usr/bin/unshare", "-m", "/bin/sh", "-c", script, "sh", blobs.string(),
                          host_binary().string(), "products", "import", file.string()},
                         env.env, 20s);
  BOOST_TEST(r.exit_code == 1, r.err);
  BOOST_TEST(contains(r.err, "cannot create " + fs::canonical(blobs / "tmp").string()), r.err);
  BOOST_TEST(contains(r.err, "Read-only file system"), r.err);
  BOOST_TEST(contains(r.err, "product #1 (\"Good\"): photo \"photos/good.png\""), r.err);
  BOOST_TEST(product_list(env).empty());
}

BOOST_AUTO_TEST_CASE(
    partial_copies_of_dead_writers_are_removed_live_ones_kept,
    *posix_host_only("the test holds a flock, which a Windows process cannot see")) {
  HostEnv env;
  BOOST_REQUIRE(env.cli({"queues"}).exit_code == 0);  // creates the store
  fs::path tmp = fs::path(env.db() + "-blobs") / "tmp";
  write_file(tmp / "stale", std::string(1000, 'x'));  // its writer was killed
  write_file(tmp / "live", std::string(1000, 'y'));   // its writer is copying
  write_file(tmp / "fresh", std::string(1000, 'z'));  // an unlocking writer, seconds ago
  backdate(tmp / "stale", 2h);
  backdate(tmp / "live", 2h);
  // A live writer holds an flock on its temp file, as BlobStore does.
  int live = ::open((tmp / "live").c_str(), O_RDWR | O_CLOEXEC);
  BOOST_REQUIRE(live >= 0);
  BOOST_REQUIRE(::flock(live, LOCK_EX) == 0);

  BOOST_REQUIRE(env.cli({"queues"}).exit_code == 0);
  BOOST_TEST(!fs::exists(tmp / "stale"));
  BOOST_TEST(fs::exists(tmp / "live"));
  BOOST_TEST(fs::exists(tmp / "fresh"));

  ::close(live);  // the writer dies: the kernel drops its lock
  BOOST_REQUIRE(env.cli({"queues"}).exit_code == 0);
  BOOST_TEST(!fs::exists(tmp / "live"));

  // An import leaves nothing in tmp/.
  write_file(catalogue(env) / "a.png", png_bytes(3000, 1));
  env.import(json::array({vinted_product("A", {"a.png"})}));
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(tmp)) left.push_back(entry.path().string());
  BOOST_TEST(left == std::vector<std::string>{(tmp / "fresh").string()});
}

BOOST_AUTO_TEST_CASE(a_number_no_double_holds_is_an_input_error_naming_the_file) {
  HostEnv env;
  for (const std::string& text :
       {std::string(R"({"price_cents": 1e400})"),
        std::string(R"([{"title": "Huge", "price_cents": 1e400, "images": []}])")}) {
    write_file(env.dir / "huge.json", text);
    auto r = env.cli({"products", "import", (env.dir / "huge.json").string()});
    BOOST_TEST(r.exit_code == 1, text);
    BOOST_TEST(contains(r.err, (env.dir / "huge.json").string() + ": not valid JSON"), r.err);
    BOOST_TEST(contains(r.err, "1e400"), r.err);
  }
  BOOST_TEST(product_list(env).empty());
}

BOOST_AUTO_TEST_SUITE_END()
