#pragma once
// A real HTTP server on 127.0.0.1 (cpp-httplib, on a thread of its own) for
// the tests that download: the routes are the test's, given before it
// starts; it listens on a free port until destroyed. Declare it after the
// members its routes use, so that it stops before they go.
#include <httplib.h>

#include <functional>
#include <string>
#include <thread>

namespace stoflow::testing {

class LocalHttpServer {
 public:
  explicit LocalHttpServer(const std::function<void(httplib::Server&)>& routes);
  ~LocalHttpServer();
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  int port() const { return port_; }
  // "127.0.0.1:PORT", as STOFLOW_ALLOW_PRIVATE_PHOTO_URLS lists addresses.
  std::string address() const;
  // "http://HOST:PORT/PATH"; `host` may be a name ("localhost") or "[::1]".
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const;

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace stoflow::testing
