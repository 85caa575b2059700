// Fuzzes the local HTTP API (`stoflow-host serve`) from the outside: one
// ApiServer runs in this process on 127.0.0.1 (an ephemeral port), over a real
// Service and SQLite database, and each input is written as raw bytes on a
// fresh TCP connection, followed by a request that asks the server to close,
// and whatever comes back is read. This goes through httplib's parsing, the Host and token screen,
// the routes and their handlers, as a hostile local client would.
//
// In the input, "@PORT@" stands for the server's port and "@TOKEN@" for its
// bearer token (both known only at start-up), so that seeds can hold valid
// requests.
//
// Invariants, each a trap when broken:
//  - whatever comes back is a whole, well-formed HTTP/1.1 response;
//  - no 5xx but 502 (a failed photo download): a 500 means an exception
//    escaped the checks;
//  - without the port in the input, no request can name the server in its
//    Host header, so nothing is answered 2xx (DNS rebinding);
//  - without the token, no API call succeeds (no 2xx JSON answer);
//  - every 64 inputs, and after any input that took over 2 s, an authenticated
//    GET /api/health on a new connection is answered 200 within 5 s: no input
//    leaves the server hung, out of workers or dead.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

#include "fuzz_support.h"
#include "http/api_server.h"
#include "photos.h"
#include "service/service.h"

using namespace stoflow;
using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kToken = "fuzz-token-5f0c2b7e9d4a41c8";

struct Fixture {
  fs::path dir = fuzz::make_fixture_dir("http");
  std::unique_ptr<service::Service> service;
  std::unique_ptr<http::ApiServer> server;
  std::thread serving;
  int port = 0;
  sqlite3* db = nullptr;  // the snapshot's own connection: the server writes through its own
  std::unique_ptr<fuzz::DbSnapshot> snapshot;

  // Product 1 (one photo) published on vinted, its first step task 1 pending;
  // product 2 ready to publish; product 3 lacks what vinted needs.
  Fixture() {
    fuzz::bound_photo_downloads();
    auto photos = dir / "catalogue";
    fuzz::write_bytes(photos / "front.png", testing::png_bytes(700, 1));
    fuzz::write_bytes(photos / "back.jpg", testing::jpeg_like_bytes(900, 2));
    json vinted = {{"catalog_id", 1839}, {"status_id", 2}, {"package_size_id", 2}};
    json products = json::array({
        {{"title", "Levi's 501"},
         {"description", "Worn twice."},
         {"price_cents", 2790},
         {"images", {"front.png"}},
         {"vinted", vinted}},
        {{"title", "Scarf"},
         {"description", "Wool."},
         {"price_cents", 1200},
         {"images", {"back.jpg"}},
         {"vinted", vinted}},
        {{"title", "Incomplete"}, {"price_cents", 0}},
    });
    auto db_path = dir / "data" / "stoflow.db";
    service = std::make_unique<service::Service>(service::Config::from_environment(db_path));
    service->import_products(products, photos);
    service->invoke("products.publish", {{"platform", "vinted"}, {"product_id", 1}},
                    {"fuzz-fixture", "fuzz"});
    server = std::make_unique<http::ApiServer>(*service, kToken, dir / "login-codes");
    port = server->bind(0);
    if (port <= 0) fuzz::fail("the API server could not bind 127.0.0.1");
    serving = std::thread([this] { server->run(); });
    if (sqlite3_open(service->db_path().c_str(), &db) != SQLITE_OK) {
      fuzz::fail("cannot open the fixture database");
    }
    sqlite3_busy_timeout(db, 10000);
    snapshot = std::make_unique<fuzz::DbSnapshot>(db);
  }
};

Fixture* fixture = nullptr;
uint64_t iterations = 0;

std::string substitute(std::string text) {
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  };
  replace_all("@PORT@", std::to_string(fixture->port));
  replace_all("@TOKEN@", kToken);
  return text;
}

int connect_to_server() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(fixture->port));
  // The server may not have reached accept() yet right after start-up.
  for (int tries = 0; tries < 500; ++tries) {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  fuzz::fail("cannot connect to the API server");
}

struct Response {
  int status = 0;
  std::string content_type;
  size_t size = 0;  // head and body
};

std::string header_value(const std::string& head, const std::string& name) {
  // Header names are case-insensitive.
  std::string lower_head = head;
  for (auto& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string key = "\r\n" + name + ":";
  size_t at = lower_head.find(key);
  if (at == std::string::npos) return {};
  size_t start = at + key.size();
  size_t end = head.find("\r\n", start);
  std::string value = head.substr(start, end - start);
  while (!value.empty() && value.front() == ' ') value.erase(0, 1);
  return value;
}

// The response at the start of `bytes`, if it has arrived whole (httplib
// always sends Content-Length); traps on anything but an HTTP/1.1 status line.
// A HEAD answer has the Content-Length of the body it leaves out.
std::optional<Response> first_response(const std::string& bytes, bool head_request = false) {
  size_t end = bytes.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  std::string head = bytes.substr(0, end);
  if (head.rfind("HTTP/1.1 ", 0) != 0 || head.size() < 12 ||
      !std::isdigit(static_cast<unsigned char>(head[9])) ||
      !std::isdigit(static_cast<unsigned char>(head[10])) ||
      !std::isdigit(static_cast<unsigned char>(head[11]))) {
    fuzz::fail("the server sent something that is not an HTTP/1.1 response", bytes);
  }
  Response r;
  r.status = std::stoi(head.substr(9, 3));
  r.content_type = header_value(head, "content-type");
  r.size = end + 4;
  if (!head_request)
    r.size += std::strtoull(header_value(head, "content-length").c_str(), nullptr, 10);
  if (bytes.size() < r.size) return std::nullopt;
  return r;
}

// Sends `request` and reads the answer to it: until that response is whole,
// the server closes, or nothing has come back `patience` after the request
// was sent (an unfinished request: the server waits for the rest). The server
// answers one request per connection; waiting for more would only wait. The
// write side stays open: a client that half-closes has gone, as far as httplib
// is concerned. A server that stops reading is not an error here: the health
// check decides whether it still serves.
std::string round_trip(const std::string& request, std::chrono::milliseconds patience) {
  const bool head_request = request.rfind("HEAD ", 0) == 0;
  int fd = connect_to_server();
  size_t sent = 0;
  std::string reply;
  char buffer[65536];
  auto deadline = Clock::now() + patience;
  const auto hard_deadline = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto now = Clock::now();
    if (now >= deadline || now >= hard_deadline) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    pollfd pfd{fd, static_cast<short>(POLLIN | (sent < request.size() ? POLLOUT : 0)), 0};
    if (::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 1))) <= 0) continue;
    if (pfd.revents & POLLOUT) {
      ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      sent = n > 0 ? sent + static_cast<size_t>(n) : request.size();  // closed: read its answer
      deadline = Clock::now() + patience;
    }
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      reply.append(buffer, static_cast<size_t>(n));
      if (first_response(reply, head_request)) break;
      deadline = hard_deadline;  // an answer has begun: wait for all of it
    }
  }
  ::close(fd);
  return reply;
}

void check_health() {
  std::string request = substitute(
      "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:@PORT@\r\nAuthorization: Bearer @TOKEN@\r\n"
      "Connection: close\r\n\r\n");
  std::string reply = round_trip(request, std::chrono::seconds(5));
  auto r = first_response(reply);
  if (!r || r->status != 200) {
    fuzz::fail("the server no longer answers an authenticated GET /api/health", reply);
  }
}

}  // namespace

// Whether the server has all of the first request (its head, and the body its
// Content-Length announces). When it has not, it waits for the rest and says
// nothing, unless the request line is already wrong: the answer then comes at
// once, so a short wait is enough and keeps such inputs cheap.
bool looks_complete(const std::string& request) {
  size_t end = request.find("\r\n\r\n");
  size_t separator = 4;
  if (size_t lf = request.find("\n\n"); lf != std::string::npos && lf < end) {
    end = lf;
    separator = 2;
  }
  if (end == std::string::npos) return false;
  std::string head = "\r\n" + request.substr(0, end);
  std::string length = header_value(head, "content-length");
  if (length.empty()) {
    // httplib 0.11 reads a POST without a length until the client closes.
    return head.compare(2, 5, "POST ") != 0 && head.compare(2, 4, "PUT ") != 0;
  }
  return request.size() - end - separator >= std::strtoull(length.c_str(), nullptr, 10);
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  // As `serve` does: a client that goes away must not kill the server.
  signal(SIGPIPE, SIG_IGN);
  fixture = new Fixture();
  check_health();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string request = substitute(std::string(reinterpret_cast<const char*>(data), size));
  auto started = Clock::now();
  auto patience = std::chrono::milliseconds(looks_complete(request) ? 1000 : 30);
  std::string reply = round_trip(request, patience);
  bool slow = Clock::now() - started > std::chrono::seconds(2);

  bool names_the_server = request.find(":" + std::to_string(fixture->port)) != std::string::npos;
  bool has_token = request.find(kToken) != std::string::npos;
  if (auto r = first_response(reply, request.rfind("HEAD ", 0) == 0)) {
    // 502 is the documented answer to a photo download that failed.
    if (r->status >= 500 && r->status != 502) {
      fuzz::fail("the server answered with a server error", reply);
    }
    bool success = r->status >= 200 && r->status < 300;
    if (success && !names_the_server) {
      fuzz::fail("a request that cannot name the server in Host was answered 2xx", reply);
    }
    if (success && !has_token && r->content_type.rfind("application/json", 0) == 0) {
      fuzz::fail("an API call without the token succeeded", reply);
    }
  } else if (!reply.empty() && reply.find("\r\n\r\n") != std::string::npos) {
    fuzz::fail("the server's answer was cut short", reply);
  }
  if (slow || ++iterations % 64 == 0) check_health();
  fixture->snapshot->restore_if_changed();
  return 0;
}
