#include "http/access.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "platform/files.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/paths.h"

namespace stoflow::http {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kLoginCodeLifetime = std::chrono::minutes(2);

bool is_lower_hex(const std::string& text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

fs::path default_token_path() {
#if defined(__APPLE__)
  return fs::path(env("HOME").value_or(".")) / "Library" / "Application Support" / "StoFlow" /
         "api-token";
#else
  if (auto xdg = env("XDG_CONFIG_HOME")) return fs::path(*xdg) / "stoflow" / "api-token";
  return fs::path(env("HOME").value_or(".")) / ".config" / "stoflow" / "api-token";
#endif
}

std::string load_or_create_token(const fs::path& path) {
  if (std::ifstream in{path}) {
    std::string token;
    std::getline(in, token);
    token = trim(token);
    if (token.size() >= 32) {
      // Whoever can read the token can drive the seller's queue.
      std::error_code ec;
      auto perms = fs::status(path, ec).permissions();
      if (!ec && (perms & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none) {
        log::warn(path.string() + " was readable by other users; made it private (0600)");
        fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, ec);
      }
      return token;
    }
  }
  ensure_private_dir(path.parent_path());
  std::string token = random_hex(32);
  fs::path temp = with_suffix(path, ".tmp");
  int fd = platform::open_file(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + temp.string());
  std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            platform::sync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + temp.string());
  fs::rename(temp, path);
  return token;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool Access::host_allowed(const std::string& host) const {
  std::string port = ":" + std::to_string(port_);
  return host == "127.0.0.1" + port || host == "localhost" + port || host == "[::1]" + port;
}

bool Access::origin_is_ours(const std::string& origin) const {
  std::string port = ":" + std::to_string(port_);
  return origin == "http://127.0.0.1" + port || origin == "http://localhost" + port ||
         origin == "http://[::1]" + port;
}

bool Access::bearer_ok(const std::string& header) const {
  const std::string prefix = "Bearer ";
  if (header.rfind(prefix, 0) != 0) return false;
  return constant_time_equal(header.substr(prefix.size()), token_);
}

bool Access::session_ok(const std::string& session) {
  if (session.empty()) return false;
  std::lock_guard lock(mutex_);
  for (const auto& known : sessions_) {
    if (constant_time_equal(known, session)) return true;
  }
  return false;
}

std::string Access::create_login_code() {
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  std::erase_if(login_codes_, [&](const auto& entry) { return entry.second < now; });
  std::string code = random_hex(24);
  login_codes_[code] = now + kLoginCodeLifetime;
  return code;
}

bool Access::redeem_code_file(const std::string& code) {
  if (login_code_dir_.empty() || code.size() != 48 || !is_lower_hex(code)) return false;
  fs::path file = login_code_dir_ / code;
  std::error_code ec;
  auto written = fs::last_write_time(file, ec);
  if (ec) return false;
  fs::remove(file, ec);  // one use, fresh or not
  if (ec) return false;
  return fs::file_time_type::clock::now() - written < kLoginCodeLifetime;
}

std::optional<std::string> Access::redeem_login_code(const std::string& code) {
  std::lock_guard lock(mutex_);
  bool valid = false;
  if (auto it = login_codes_.find(code); it != login_codes_.end()) {
    valid = it->second >= Clock::now();
    login_codes_.erase(it);  // one use, fresh or not
  } else {
    valid = redeem_code_file(code);
  }
  if (!valid) return std::nullopt;
  std::string session = random_hex(32);
  sessions_.insert(session);
  return session;
}

std::string write_login_code(const fs::path& dir) {
  ensure_private_dir(dir);
  std::string code = random_hex(24);
  fs::path file = dir / code;
  int fd = platform::open_file(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + file.string());
  ::close(fd);
  return code;
}

}  // namespace stoflow::http
