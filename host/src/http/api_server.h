#pragma once
// The local HTTP API and dashboard (`stoflow-host serve`), bound to
// 127.0.0.1 only. Handlers translate HTTP to Service::invoke and back; the
// service is shared with the stdio transport and the CLI.
#include <httplib.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "http/access.h"
#include "service/service.h"
#include "store/lease_owner.h"

namespace stoflow::http {

inline constexpr int kDefaultPort = 8765;
inline constexpr size_t kMaxRequestBytes = 8 * 1024 * 1024;
inline constexpr uint64_t kMaxSessionRequestBytes = 4096;
inline constexpr size_t kWorkerThreads = 32;

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
  void maintain_until_stopped();

  service::Service& service_;
  Access access_;
  store::LeaseOwner owner_;
  service::Caller caller_;
  httplib::Server server_;
  std::mutex service_mutex_;  // the service and its SQLite handle serve one call at a time
  std::atomic<bool> stopping_{false};
  std::thread maintenance_;
};

}  // namespace stoflow::http
