#pragma once
// Who may use the local HTTP API. A port on 127.0.0.1 is reachable by every
// web page the seller opens (through fetch, forms or DNS rebinding), so every
// request must prove it comes from the seller: a bearer token only local
// programs can read, or a dashboard session cookie obtained through a one-time
// login code. The Host header must name our loopback address and port.
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace stoflow::http {

// $XDG_CONFIG_HOME/stoflow/api-token (~/.config/stoflow on Linux,
// ~/Library/Application Support/StoFlow on macOS).
std::filesystem::path default_token_path();
// Reads the token, creating it (random, mode 0600) on first use.
std::string load_or_create_token(const std::filesystem::path& path);

bool constant_time_equal(const std::string& a, const std::string& b);

class Access {
 public:
  Access(std::string token, int port) : token_(std::move(token)), port_(port) {}
  void set_port(int port) { port_ = port; }
  int port() const { return port_; }

  // "127.0.0.1:PORT", "localhost:PORT" or "[::1]:PORT" only.
  bool host_allowed(const std::string& host_header) const;
  bool bearer_ok(const std::string& authorization_header) const;
  // A cookie session is honoured only for same-origin requests.
  bool session_ok(const std::string& cookie_header, const std::string& origin_header,
                  const std::string& fetch_site_header);
  bool origin_is_ours(const std::string& origin) const;

  std::string create_login_code();
  // Exchanges a one-time code (valid two minutes) for a new session id.
  std::optional<std::string> redeem_login_code(const std::string& code);

 private:
  std::string token_;
  int port_;
  std::mutex mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point> login_codes_;
  std::set<std::string> sessions_;
};

inline constexpr const char* kSessionCookie = "stoflow_session";

}  // namespace stoflow::http
