#pragma once
// The local HTTP API and dashboard (`stoflow-host serve`), bound to
// 127.0.0.1 only. Handlers translate HTTP to Service::invoke and back; the
// service is shared with the stdio transport and the CLI. Connections are
// accepted by the request screener; httplib only parses, routes and answers
// requests that have already arrived, one per connection.
#include <httplib.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "http/access.h"
#include "http/request_screener.h"
#include "service/service.h"
#include "store/lease_owner.h"

namespace stoflow::http {

inline constexpr int kDefaultPort = 8765;
inline constexpr size_t kMaxRequestBytes = 8 * 1024 * 1024;
inline constexpr uint64_t kMaxSessionRequestBytes = 4096;
inline constexpr size_t kWorkerThreads = 32;

// httplib's server, fed one screened request at a time instead of running
// its own accept loop. process_request is the protected hook httplib's own
// SSLServer uses to run the server over a stream of its making.
class OneRequestServer : public httplib::Server {
 public:
  // Parses, routes and answers the request, with "Connection: close": a
  // worker never waits for a second request.
  void serve(httplib::Stream& stream) {
    bool connection_closed = false;
    process_request(stream, /*close_connection=*/true, connection_closed, nullptr);
  }
};

class ApiServer {
 public:
  ApiServer(service::Service& service, std::string token, std::filesystem::path login_code_dir);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds 127.0.0.1:port (0 picks a free port); returns the port, or -1.
  int bind(int port);
  // Serves until stop(); runs lease maintenance in the background meanwhile.
  void run();
  void stop();

 private:
  using Handler = std::function<nlohmann::json(const httplib::Request&)>;
  void add_routes();
  void add_json(const char* method, const std::string& pattern, Handler handler);
  httplib::Server::HandlerResponse screen(const httplib::Request& req, httplib::Response& res);
  nlohmann::json call(const std::string& method, const nlohmann::json& params);
  bool authenticated(const RequestHead& head);
  bool credentials_ok(const std::string& authorization, const std::string& session);
  void maintain_until_stopped();

  service::Service& service_;
  Access access_;
  store::LeaseOwner owner_;
  service::Caller caller_;
  OneRequestServer server_;
  RequestScreener screener_;
  std::mutex service_mutex_;  // the service and its SQLite handle serve one call at a time
  std::atomic<bool> stopping_{false};
  std::thread maintenance_;
};

}  // namespace stoflow::http
