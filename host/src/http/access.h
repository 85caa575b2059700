#pragma once
// Who may use the local HTTP API. A port on 127.0.0.1 is reachable by every
// web page the seller opens (through fetch, forms or DNS rebinding), so every
// request must prove it comes from the seller: a bearer token only local
// programs can read, or a dashboard session obtained with a one-time login
// code. The session travels in a header the dashboard keeps in sessionStorage,
// not in a cookie: cookies ignore ports, so any other local server the
// browser visits would receive it. The Host header must name our loopback
// address and port.
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
  // The X-StoFlow-Session header of a dashboard request.
  bool session_ok(const std::string& session_header);
  bool origin_is_ours(const std::string& origin) const;

  std::string create_login_code();
  // Exchanges a one-time code (valid two minutes) for a new session id. Codes
  // come from create_login_code or, without any network round trip, from a
  // file `stoflow-host dashboard` leaves in the private login-codes directory.
  std::optional<std::string> redeem_login_code(const std::string& code);
  void set_login_code_dir(std::filesystem::path dir) { login_code_dir_ = std::move(dir); }

 private:
  std::string token_;
  int port_;
  std::mutex mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point> login_codes_;
  std::set<std::string> sessions_;
  std::filesystem::path login_code_dir_;
  bool redeem_code_file(const std::string& code);
};

inline constexpr const char* kSessionHeader = "X-StoFlow-Session";

// Writes a fresh one-time code into `dir` (mode 0600) and returns it.
std::string write_login_code(const std::filesystem::path& dir);

}  // namespace stoflow::http
