// The guarantees of fetch/http_client.h, on this OS's client (libcurl's
// here), against real servers on 127.0.0.1; and the URL handling both
// clients share (fetch/http_url.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include "fetch/http_client.h"
#include "fetch/http_url.h"
#include "local_http_server.h"
#include "test_support.h"

using namespace stoflow;
using namespace stoflow::fetch;
using namespace std::chrono_literals;

namespace {

struct Routes {
  std::atomic<int> hello_hits{0};
  std::string big = std::string(100'000, 'b');
  testing::LocalHttpServer http{[this](httplib::Server& server) {
    server.Get("/hello", [this](const httplib::Request& req, httplib::Response& res) {
      ++hello_hits;
      res.set_header("X-Echo", req.get_header_value("X-Token"));
      res.set_content("hello", "text/plain");
    });
    server.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.status = 201;
      res.set_content(req.method + " " + req.body, "text/plain");
    });
    server.Get("/moved",
               [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/hello"); });
    server.Get("/big", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(big, "application/octet-stream");
    });
    // No Content-Length: the cap is met while reading.
    server.Get("/big-chunked", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/octet-stream",
                                       [this](size_t offset, httplib::DataSink& sink) {
                                         if (offset < big.size()) {
                                           sink.write(big.data() + offset, 1000);
                                         } else {
                                           sink.done();
                                         }
                                         return true;
                                       });
    });
    server.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(3000ms);
      res.set_content("late", "text/plain");
    });
  }};
};

HttpResult send(HttpRequest request) {
  return make_http_client()->send(request);
}

HttpError error_of(const HttpResult& result) {
  BOOST_TEST_REQUIRE(std::holds_alternative<HttpError>(result), "got a response");
  return std::get<HttpError>(result);
}

HttpResponse response_of(const HttpResult& result) {
  if (const auto* e = std::get_if<HttpError>(&result)) {
    BOOST_TEST_REQUIRE(false, kind_name(e->kind) << ": " << e->message);
  }
  return std::get<HttpResponse>(result);
}

long elapsed_ms(std::chrono::steady_clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - since)
                               .count());
}

// A TCP server that reads whole requests and closes each connection without
// a byte of answer, counting the requests it saw.
struct SilentServer {
  int listener = -1;
  int port = 0;
  std::atomic<int> requests{0};
  std::atomic<bool> stop{false};
  std::thread thread;

  SilentServer() {
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&in), sizeof in) == 0);
    BOOST_REQUIRE(::listen(listener, 8) == 0);
    socklen_t size = sizeof in;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&in), &size);
    port = ntohs(in.sin_port);
    thread = std::thread([this] {
      while (!stop) {
        pollfd p{listener, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int fd = ::accept(listener, nullptr, nullptr);
        if (fd < 0) continue;
        std::string seen;
        char buffer[4096];
        // The headers, then as many body bytes as Content-Length says.
        for (;;) {
          pollfd c{fd, POLLIN, 0};
          if (::poll(&c, 1, 2000) <= 0) break;
          ssize_t n = ::read(fd, buffer, sizeof buffer);
          if (n <= 0) break;
          seen.append(buffer, static_cast<size_t>(n));
          auto end = seen.find("\r\n\r\n");
          if (end == std::string::npos) continue;
          auto length_at = seen.find("Content-Length: ");
          size_t length =
              length_at == std::string::npos ? 0 : std::stoul(seen.substr(length_at + 16));
          if (seen.size() >= end + 4 + length) break;
        }
        if (seen.find("\r\n\r\n") != std::string::npos) ++requests;
        ::close(fd);
      }
    });
  }
  ~SilentServer() {
    stop = true;
    thread.join();
    ::close(listener);
  }
};

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof in);
  socklen_t size = sizeof in;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &size);
  ::close(fd);
  return ntohs(in.sin_port);
}

// `openssl s_server` with a self-signed certificate for 127.0.0.1: a TLS
// server that is what it says, but that no trust store knows.
struct SelfSignedTlsServer {
  testing::TempDir dir;
  int port = free_port();
  pid_t pid = -1;

  SelfSignedTlsServer() {
    std::string key = (dir / "key.pem").string(), cert = (dir / "cert.pem").string();
    auto made =
        testing::run_program({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                              "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                              "-days", "1", "-keyout", key, "-out", cert},
                             {}, true);
    BOOST_TEST_REQUIRE(made.exit_code == 0, made.err);
    std::vector<std::string> args = {"/usr/bin/openssl",
                                     "s_server",
                                     "-quiet",
                                     "-www",
                                     "-accept",
                                     "127.0.0.1:" + std::to_string(port),
                                     "-cert",
                                     cert,
                                     "-key",
                                     key};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    BOOST_TEST_REQUIRE(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
    // Until it accepts connections.
    for (int i = 0; i < 200; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in in{};
      in.sin_family = AF_INET;
      in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      in.sin_port = htons(static_cast<uint16_t>(port));
      bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&in), sizeof in) == 0;
      ::close(fd);
      if (up) return;
      std::this_thread::sleep_for(25ms);
    }
    BOOST_FAIL("openssl s_server did not start");
  }
  ~SelfSignedTlsServer() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(http_client)

BOOST_AUTO_TEST_CASE(a_certificate_that_does_not_verify_is_a_tls_error) {
  SelfSignedTlsServer server;
  HttpRequest request;
  request.url = "https://127.0.0.1:" + std::to_string(server.port) + "/";
  HttpError e = error_of(send(request));
  BOOST_TEST(static_cast<int>(e.kind) == static_cast<int>(HttpErrorKind::kTls),
             kind_name(e.kind) << ": " << e.message);
  // Refused for the certificate, not for a handshake that failed otherwise.
  BOOST_TEST(e.message.find("certificate") != std::string::npos, e.message);
  BOOST_TEST(!e.request_sent);
}

BOOST_AUTO_TEST_CASE(a_get_and_a_post_come_back_with_status_headers_body_and_peer) {
  Routes routes;
  HttpRequest get;
  get.url = routes.http.url("/hello");
  get.headers = {{"X-Token", "abc"}};
  HttpResponse hello = response_of(send(get));
  BOOST_TEST(hello.status == 200);
  BOOST_TEST(hello.body == "hello");
  BOOST_TEST(hello.header("x-echo").value_or("") == "abc");
  BOOST_TEST(hello.header("Content-Type").value_or("") == "text/plain");
  BOOST_TEST(hello.peer == routes.http.address());

  HttpRequest post;
  post.method = "POST";
  post.url = routes.http.url("/echo");
  post.headers = {{"Content-Type", "application/json"}};
  post.body = R"({"a":1})";
  HttpResponse echoed = response_of(send(post));
  BOOST_TEST(echoed.status == 201);
  BOOST_TEST(echoed.body == R"(POST {"a":1})");
}

BOOST_AUTO_TEST_CASE(a_redirect_is_returned_not_followed) {
  Routes routes;
  HttpRequest request;
  request.url = routes.http.url("/moved");
  HttpResponse moved = response_of(send(request));
  BOOST_TEST(moved.status == 302);
  BOOST_TEST(moved.header("Location").value_or("") == "/hello");
  BOOST_TEST(routes.hello_hits == 0);
  BOOST_TEST(resolve_reference(request.url, "/hello") == routes.http.url("/hello"));
}

BOOST_AUTO_TEST_CASE(only_http_and_https_urls_are_sent) {
  Routes routes;
  std::string port = std::to_string(routes.http.port());
  for (const std::string& url : std::vector<std::string>{
           "ftp://127.0.0.1:" + port + "/hello", std::string("file:///etc/passwd"),
           "gopher://127.0.0.1:" + port + "/", "http://user:pw@127.0.0.1:" + port + "/hello",
           "/hello", "http:///hello", "http://127.0.0.1:0/", "http://127.0.0.1:" + port + "/a b"}) {
    HttpRequest request;
    request.url = url;
    HttpError e = error_of(send(request));
    BOOST_TEST(static_cast<int>(e.kind) == static_cast<int>(HttpErrorKind::kBadUrl),
               url << ": " << kind_name(e.kind));
    BOOST_TEST(!e.request_sent);
  }
  BOOST_TEST(routes.hello_hits == 0);
}

BOOST_AUTO_TEST_CASE(the_body_is_capped_with_or_without_a_content_length) {
  Routes routes;
  for (const char* path : {"/big", "/big-chunked"}) {
    HttpRequest request;
    request.url = routes.http.url(path);
    request.limits.max_response_bytes = 10'000;
    HttpError e = error_of(send(request));
    BOOST_TEST(static_cast<int>(e.kind) == static_cast<int>(HttpErrorKind::kTooLarge), path);
    BOOST_TEST(e.message == "larger than 10000 bytes");
    // Exactly the cap is not too large.
    request.limits.max_response_bytes = static_cast<int64_t>(routes.big.size());
    BOOST_TEST(response_of(send(request)).body == routes.big, path);
  }
}

BOOST_AUTO_TEST_CASE(the_total_timeout_ends_a_slow_answer) {
  Routes routes;
  HttpRequest request;
  request.url = routes.http.url("/slow");
  request.limits.total_timeout_ms = 500;
  auto start = std::chrono::steady_clock::now();
  HttpError e = error_of(send(request));
  BOOST_TEST(static_cast<int>(e.kind) == static_cast<int>(HttpErrorKind::kTimeout), e.message);
  BOOST_TEST(e.request_sent);
  BOOST_TEST(elapsed_ms(start) < 2000);
}

BOOST_AUTO_TEST_CASE(the_connect_timeout_ends_a_connection_never_accepted) {
  // A listener whose queue is full: Linux drops further SYNs, and a connection
  // waits until the client gives up.
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&in), sizeof in) == 0);
  BOOST_REQUIRE(::listen(listener, 0) == 0);
  socklen_t size = sizeof in;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&in), &size);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&in), sizeof in);
    fillers.push_back(fd);
  }
  std::this_thread::sleep_for(100ms);
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(ntohs(in.sin_port)) + "/";
  request.limits.connect_timeout_ms = 300;
  request.limits.total_timeout_ms = 10'000;
  auto start = std::chrono::steady_clock::now();
  HttpError e = error_of(send(request));
  BOOST_TEST(static_cast<int>(e.kind) == static_cast<int>(HttpErrorKind::kTimeout),
             kind_name(e.kind) << ": " << e.message);
  BOOST_TEST(!e.request_sent);
  BOOST_TEST(elapsed_ms(start) < 3000);
  for (int fd : fillers) ::close(fd);
  ::close(listener);
}

BOOST_AUTO_TEST_CASE(a_refused_peer_gets_no_request) {
  Routes routes;
  HttpRequest request;
  request.url = routes.http.url("/hello");
  std::string checked;
  request.check_peer = [&](const sockaddr* peer) -> std::optional<std::string> {
    checked = address_text(peer);
    return "not this one";
  };
  HttpError e = error_of(send(request));
  BOOST_TEST(static_cast<int>(e.kind) == static_cast<int>(HttpErrorKind::kRefusedAddress));
  BOOST_TEST(e.message == routes.http.address() + ", not this one");
  BOOST_TEST(checked == routes.http.address());
  BOOST_TEST(!e.request_sent);
  BOOST_TEST(routes.hello_hits == 0);
  // Let through, the same request goes.
  request.check_peer = [](const sockaddr*) { return std::optional<std::string>(); };
  BOOST_TEST(response_of(send(request)).peer == routes.http.address());
  BOOST_TEST(routes.hello_hits == 1);
}

BOOST_AUTO_TEST_CASE(a_post_without_an_answer_is_no_response_and_sent_once) {
  SilentServer server;
  HttpRequest request;
  request.method = "POST";
  request.url = "http://127.0.0.1:" + std::to_string(server.port) + "/orders";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = R"({"order":1})";
  HttpError e = error_of(send(request));
  BOOST_TEST(static_cast<int>(e.kind) == static_cast<int>(HttpErrorKind::kNoResponse),
             kind_name(e.kind) << ": " << e.message);
  BOOST_TEST(e.request_sent);
  BOOST_TEST(e.peer == "127.0.0.1:" + std::to_string(server.port));
  std::this_thread::sleep_for(300ms);  // a second attempt would have come by now
  BOOST_TEST(server.requests == 1);
}

BOOST_AUTO_TEST_CASE(a_closed_port_is_a_connect_error) {
  SilentServer server;
  int port = server.port;
  HttpRequest request;
  {
    // A port nobody listens on: one just closed.
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof in);
    socklen_t size = sizeof in;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &size);
    port = ntohs(in.sin_port);
    ::close(fd);
  }
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  HttpError e = error_of(send(request));
  BOOST_TEST(static_cast<int>(e.kind) == static_cast<int>(HttpErrorKind::kConnect),
             kind_name(e.kind) << ": " << e.message);
  // TLS spoken to a server that does not speak it.
  Routes routes;
  request.url = "https://127.0.0.1:" + std::to_string(routes.http.port()) + "/hello";
  HttpError tls = error_of(send(request));
  BOOST_TEST(static_cast<int>(tls.kind) == static_cast<int>(HttpErrorKind::kTls),
             kind_name(tls.kind) << ": " << tls.message);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(http_url)

BOOST_AUTO_TEST_CASE(urls_are_split_as_both_clients_send_them) {
  std::string why;
  auto url = parse_http_url("HTTPS://Example.org:8443/a/b?c=d#frag", &why);
  BOOST_TEST_REQUIRE(url.has_value(), why);
  BOOST_TEST(url->scheme == "https");
  BOOST_TEST(url->host == "Example.org");
  BOOST_TEST(url->port == 8443);
  BOOST_TEST(url->target == "/a/b?c=d");
  url = parse_http_url("http://[::1]/", &why);
  BOOST_TEST_REQUIRE(url.has_value(), why);
  BOOST_TEST(url->host == "::1");
  BOOST_TEST(url->ipv6_literal);
  BOOST_TEST(url->port == 80);
  url = parse_http_url("http://example.org?q", &why);
  BOOST_TEST_REQUIRE(url.has_value(), why);
  BOOST_TEST(url->target == "/?q");
  BOOST_TEST(!parse_http_url("http://example.org:65536/", &why));
  BOOST_TEST(why.find("65536") != std::string::npos, why);
  BOOST_TEST(!parse_http_url("ftp://example.org/", &why));
  BOOST_TEST(why == "the scheme ftp is not supported: only http and https are");
}

BOOST_AUTO_TEST_CASE(references_resolve_as_rfc_3986_says) {
  // RFC 3986, 5.4.1 and 5.4.2 (the base's scheme made http).
  const std::string base = "http://a/b/c/d;p?q";
  const std::pair<const char*, const char*> cases[] = {
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q"},
      {"g#s", "http://a/b/c/g"},
      {";x", "http://a/b/c/;x"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../g", "http://a/g"},
      {"../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"https://other.example/x", "https://other.example/x"},
  };
  for (const auto& [reference, expected] : cases) {
    BOOST_TEST(resolve_reference(base, reference) == expected, "\"" << reference << "\"");
  }
}

BOOST_AUTO_TEST_SUITE_END()
