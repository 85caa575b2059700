#include "http/access.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "util/crypto.h"
#include "util/paths.h"

namespace stoflow::http {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kLoginCodeLifetime = std::chrono::minutes(2);

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

std::optional<std::string> cookie_value(const std::string& header, const std::string& name) {
  std::istringstream parts(header);
  std::string part;
  while (std::getline(parts, part, ';')) {
    size_t start = part.find_first_not_of(' ');
    if (start == std::string::npos) continue;
    part = part.substr(start);
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
  }
  return std::nullopt;
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
    if (token.size() >= 32) return token;
  }
  ensure_private_dir(path.parent_path());
  std::string token = random_hex(32);
  fs::path temp = path.string() + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + temp.string());
  std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
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

bool Access::session_ok(const std::string& cookie_header, const std::string& origin,
                        const std::string& fetch_site) {
  if (!origin.empty() && !origin_is_ours(origin)) return false;
  if (!fetch_site.empty() && fetch_site != "same-origin" && fetch_site != "none") return false;
  auto session = cookie_value(cookie_header, kSessionCookie);
  if (!session) return false;
  std::lock_guard lock(mutex_);
  for (const auto& known : sessions_) {
    if (constant_time_equal(known, *session)) return true;
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

std::optional<std::string> Access::redeem_login_code(const std::string& code) {
  std::lock_guard lock(mutex_);
  auto it = login_codes_.find(code);
  if (it == login_codes_.end()) return std::nullopt;
  bool fresh = it->second >= Clock::now();
  login_codes_.erase(it);  // one use, fresh or not
  if (!fresh) return std::nullopt;
  std::string session = random_hex(32);
  sessions_.insert(session);
  return session;
}

}  // namespace stoflow::http
