// blobs.open and the native host's 127.0.0.1 listener (messaging/blob_loopback):
// nothing listens before the first blobs.open; the photo is served whole, with
// its exact length, type and the extension's origin, to a request that names
// the right Host, path and unexpired token; everything else gets a bare
// 403/404/405; Firefox gets only a moz-extension origin; the listener ends with the host.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <thread>

#include "harness.h"
#include "windows_run.h"

using namespace stoflow::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const char* kOrigin = "chrome-extension://kikocaejcljggdneaelndeobljajgmho";

// The sockets a process holds, from its descriptor table.
int socket_count(pid_t pid) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(entry.path(), ec);
    if (!ec && target.string().rfind("socket:", 0) == 0) ++count;
  }
  return count;
}

struct Reply {
  int status = 0;
  std::string head;  // status line and headers, lowercased names kept as sent
  std::string body;
  bool has_header(const std::string& line) const {
    return head.find("\r\n" + line + "\r\n") != std::string::npos;
  }
};

Reply http_exchange(int port, const std::string& request) {
  int fd = connect_loopback(port);
  std::string_view rest = request;
  while (!rest.empty()) {
    ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    BOOST_REQUIRE(n > 0);
    rest.remove_prefix(static_cast<size_t>(n));
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  Reply reply;
  size_t end = text.find("\r\n\r\n");
  BOOST_REQUIRE_MESSAGE(end != std::string::npos, "no HTTP head in: " << text);
  reply.head = text.substr(0, end + 2);
  reply.body = text.substr(end + 4);
  reply.status = std::stoi(text.substr(9, 3));
  return reply;
}

std::string get(const std::string& path, int port, const std::string& extra = {}) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" + extra +
         "\r\n";
}

struct Opened {
  int port;
  std::string path;  // /blobs/<sha>/<token>
};

Opened parse_url(const std::string& url) {
  const std::string prefix = "http://127.0.0.1:";
  BOOST_REQUIRE(url.rfind(prefix, 0) == 0);
  size_t slash = url.find('/', prefix.size());
  return {std::stoi(url.substr(prefix.size(), slash - prefix.size())), url.substr(slash)};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(blob_loopback,
                      *not_yet_on_windows("blobs.open's photo listener (sendfile, accept4); "
                                          "the extension reads photos with blobs.read there"))

BOOST_AUTO_TEST_CASE(nothing_listens_before_blobs_open_then_the_photo_is_served_exactly) {
  HostEnv env;
  std::vector<std::string> photos;
  int64_t product = env.product_with_photos("p", {3'000'000}, &photos);
  HostProcess host(env.env);
  json images = host.result_of("products.get", {{"product_id", product}})["images"];
  std::string blob = images[0]["blob"];
  BOOST_TEST(host.result_of("hello")["host"] == "stoflow-host");
  host.result_of("blobs.read", {{"blob", blob}, {"offset", 0}, {"length", 1024}});
  BOOST_TEST(socket_count(host.pid()) == 0);

  json opened = host.result_of("blobs.open", {{"sha256", blob}});
  BOOST_TEST(socket_count(host.pid()) == 1);
  BOOST_TEST(opened["size"] == photos[0].size());
  BOOST_TEST(opened["sha256"] == blob);
  BOOST_TEST(opened["content_type"] == "image/png");
  BOOST_TEST(opened["expires_at"].is_string());
  auto [port, path] = parse_url(opened["url"]);
  BOOST_TEST(path.size() == std::string("/blobs/").size() + 64 + 1 + 64);

  Reply ok = http_exchange(port, get(path, port, std::string("Origin: ") + kOrigin + "\r\n"));
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ok.body == photos[0]);
  BOOST_TEST(ok.has_header("Content-Length: " + std::to_string(photos[0].size())));
  BOOST_TEST(ok.has_header("Content-Type: image/png"));
  BOOST_TEST(ok.has_header(std::string("Access-Control-Allow-Origin: ") + kOrigin));
  // Chrome's answers name the extension whatever Origin a request claims.
  Reply web = http_exchange(port, get(path, port, "Origin: https://evil.example\r\n"));
  BOOST_TEST(web.has_header(std::string("Access-Control-Allow-Origin: ") + kOrigin));
  // The URL may be fetched again while it lives (a retried step), and a
  // second blobs.open reuses the listener.
  BOOST_TEST(http_exchange(port, get(path, port)).status == 200);
  auto again = parse_url(host.result_of("blobs.open", {{"sha256", blob}})["url"]);
  BOOST_TEST(again.port == port);
  BOOST_TEST(again.path != path);
  BOOST_TEST(socket_count(host.pid()) == 1);
  // blobs.read is unchanged.
  BOOST_TEST(read_blob(host, {{"$blob", blob}, {"size", photos[0].size()}}) == photos[0]);

  host.close_stdin();
  BOOST_TEST(host.wait_exit(5s).value_or(-1) == 0);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_TEST(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0);
  ::close(fd);
}

BOOST_AUTO_TEST_CASE(everything_but_the_exact_request_is_refused_without_detail) {
  HostEnv env;
  int64_t product = env.product_with_photos("p", {5000, 6000});
  HostProcess host(env.env);
  json images = host.result_of("products.get", {{"product_id", product}})["images"];
  std::string blob = images[0]["blob"], other = images[1]["blob"];
  auto [port, path] = parse_url(host.result_of("blobs.open", {{"sha256", blob}})["url"]);
  std::string token = path.substr(path.rfind('/') + 1);
  std::string p = std::to_string(port);

  auto status_of = [&](const std::string& request) {
    Reply reply = http_exchange(port, request);
    if (reply.status != 200 && reply.status != 204) BOOST_TEST(reply.body.empty());
    return reply.status;
  };
  // no token, a wrong one, another photo's path with this token
  BOOST_TEST(status_of(get("/blobs/" + blob, port)) == 404);
  BOOST_TEST(status_of(get("/blobs/" + blob + "/" + std::string(64, 'a'), port)) == 403);
  BOOST_TEST(status_of(get("/blobs/" + other + "/" + token, port)) == 403);
  // other paths
  for (std::string target :
       std::vector<std::string>{"/", "/blobs/", "/blobs/" + blob + "/" + token + "x",
                                "/blobs/" + blob + "/" + token + "?a=1", "/../" + blob}) {
    BOOST_TEST(status_of(get(target, port)) == 404, target);
  }
  // DNS rebinding: any other Host, or none
  for (std::string hostname : std::vector<std::string>{"localhost:" + p, "evil.example:" + p,
                                                       "127.0.0.1", "127.0.0.1:1"}) {
    BOOST_TEST(status_of("GET " + path + " HTTP/1.1\r\nHost: " + hostname + "\r\n\r\n") == 403,
               hostname);
  }
  BOOST_TEST(status_of("GET " + path + " HTTP/1.1\r\n\r\n") == 403);
  BOOST_TEST(status_of("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + p +
                       "\r\nHost: 127.0.0.1:" + p + "\r\n\r\n") == 400);
  // other methods
  for (std::string method : std::vector<std::string>{"POST", "PUT", "DELETE", "HEAD"}) {
    BOOST_TEST(
        status_of(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + p + "\r\n\r\n") == 405,
        method);
  }
  BOOST_TEST(status_of("garbage\r\n\r\n") == 400);
  // the preflights
  Reply preflight = http_exchange(
      port, "OPTIONS " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + p + "\r\nOrigin: " + kOrigin +
                "\r\nAccess-Control-Request-Method: GET"
                "\r\nAccess-Control-Request-Private-Network: true\r\n\r\n");
  BOOST_TEST(preflight.status == 204);
  BOOST_TEST(preflight.has_header("Access-Control-Allow-Private-Network: true"));
  BOOST_TEST(preflight.has_header(std::string("Access-Control-Allow-Origin: ") + kOrigin));
  // still serving the right request after all that
  BOOST_TEST(status_of(get(path, port)) == 200);
}

BOOST_AUTO_TEST_CASE(an_expired_url_is_refused) {
  HostEnv env;
  int64_t product = env.product_with_photos("p", {5000});
  auto environment = env.env;
  environment["STOFLOW_BLOB_URL_MS"] = "300";
  HostProcess host(environment);
  std::string blob = host.result_of("products.get", {{"product_id", product}})["images"][0]["blob"];
  auto [port, path] = parse_url(host.result_of("blobs.open", {{"sha256", blob}})["url"]);
  BOOST_TEST(http_exchange(port, get(path, port)).status == 200);
  std::this_thread::sleep_for(400ms);
  BOOST_TEST(http_exchange(port, get(path, port)).status == 403);
}

BOOST_AUTO_TEST_CASE(only_photos_of_products_are_opened) {
  HostEnv env;
  int64_t product = env.product_with_photos("p", {5000});
  std::string blob;
  {
    HostProcess host(env.env);
    blob = host.result_of("products.get", {{"product_id", product}})["images"][0]["blob"];
    json bad = host.call("blobs.open", {{"sha256", std::string(64, 'a')}});
    BOOST_TEST(bad["error"]["code"] == -32000);
    BOOST_TEST(host.call("blobs.open", {{"sha256", "ABC"}})["error"]["code"] == -32602);
    BOOST_TEST(host.call("blobs.open", json::object())["error"]["code"] == -32602);
    host.close_stdin();
    host.wait_exit(5s);
  }
  // The photo stays stored, but no product uses it any more.
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(env.db().c_str(), &db) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(db, "DELETE FROM product_images", nullptr, nullptr, nullptr) ==
                SQLITE_OK);
  sqlite3_close(db);
  HostProcess host(env.env);
  BOOST_TEST(host.call("blobs.open", {{"sha256", blob}})["error"]["code"] == -32000);
  BOOST_TEST(socket_count(host.pid()) == 0);
}

// Firefox names no origin (its moz-extension UUID is per install): a
// well-formed moz-extension origin is echoed, a web page's never.
BOOST_AUTO_TEST_CASE(firefox_gets_its_own_extension_origin_and_no_other) {
  HostEnv env;
  int64_t product = env.product_with_photos("p", {5000});
  HostProcess host(env.env,
                   {(env.dir / "com.stoflow.companion.json").string(), "companion@stoflow.app"});
  std::string blob = host.result_of("products.get", {{"product_id", product}})["images"][0]["blob"];
  BOOST_TEST(socket_count(host.pid()) == 0);
  auto [port, path] = parse_url(host.result_of("blobs.open", {{"sha256", blob}})["url"]);
  const std::string moz = "moz-extension://5fd8bc05-5bdf-438e-87c6-d84e89b0eea6";
  Reply ok = http_exchange(port, get(path, port, "Origin: " + moz + "\r\n"));
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ok.has_header("Access-Control-Allow-Origin: " + moz));
  for (std::string origin : std::vector<std::string>{
           "https://evil.example", "null", "moz-extension://x", "moz-extension://" + moz,
           "chrome-extension://kikocaejcljggdneaelndeobljajgmho"}) {
    Reply reply = http_exchange(port, get(path, port, "Origin: " + origin + "\r\n"));
    BOOST_TEST(reply.head.find("Access-Control-Allow-Origin") == std::string::npos, origin);
  }
}

// A client that asks for a big photo and never reads it does not hold the
// host's exit for the listener's 10 s send timeout.
BOOST_AUTO_TEST_CASE(a_client_that_stops_reading_does_not_delay_the_exit) {
  HostEnv env;
  int64_t product = env.product_with_photos("p", {16'000'000});
  HostProcess host(env.env);
  std::string blob = host.result_of("products.get", {{"product_id", product}})["images"][0]["blob"];
  auto [port, path] = parse_url(host.result_of("blobs.open", {{"sha256", blob}})["url"]);
  int fd = connect_loopback(port);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::string request = get(path, port);
  BOOST_REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(request.size()));
  std::this_thread::sleep_for(300ms);
  auto started = std::chrono::steady_clock::now();
  host.close_stdin();
  BOOST_TEST(host.wait_exit(5s).value_or(-1) == 0);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  BOOST_TEST(took.count() < 2000);
  ::close(fd);
}

// A client that connects and says nothing is dropped after 2 s; the photo
// is then served to the next one.
BOOST_AUTO_TEST_CASE(a_silent_client_is_dropped_after_the_head_deadline) {
  HostEnv env;
  int64_t product = env.product_with_photos("p", {5000});
  HostProcess host(env.env);
  std::string blob = host.result_of("products.get", {{"product_id", product}})["images"][0]["blob"];
  auto [port, path] = parse_url(host.result_of("blobs.open", {{"sha256", blob}})["url"]);
  int silent = connect_loopback(port);
  auto started = std::chrono::steady_clock::now();
  char byte;
  BOOST_TEST(::recv(silent, &byte, 1, 0) == 0);  // closed by the host, nothing sent
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  BOOST_TEST(took.count() >= 1500);
  BOOST_TEST(took.count() < 4000);
  ::close(silent);
  BOOST_TEST(http_exchange(port, get(path, port)).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
