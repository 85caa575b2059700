#include "messaging/blob_loopback.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "service/params.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "util/errors.h"
#include "util/log.h"
#include "util/unique_fd.h"

namespace stoflow::messaging {

using nlohmann::json;

namespace {

constexpr size_t kMaxRequestHead = 8 * 1024;
constexpr int kRequestDeadlineMs = 2000;
constexpr int kSendTimeoutSeconds = 10;
constexpr size_t kMaxTokens = 64;
constexpr size_t kSendChunk = 1024 * 1024;

struct Grant {
  std::string sha256;
  std::string path;
  std::string content_type;
  int64_t size = 0;
  int64_t expires_ms = 0;
};

bool send_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return std::string(text);
}

// What a client sent, fit for a log line: at most 100 characters, anything
// but printable ASCII replaced.
std::string printable(std::string_view text) {
  std::string out(text.substr(0, 100));
  for (char& c : out)
    if (c < 0x20 || c > 0x7e) c = '?';
  return out;
}

struct Request {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lowercased; a repeated one is refused
  bool ok = false;
};

Request parse_head(const std::string& head) {
  Request request;
  size_t line_end = head.find("\r\n");
  std::string_view line(head.data(), line_end);
  size_t a = line.find(' ');
  size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
  if (b == std::string_view::npos) return request;
  request.method = std::string(line.substr(0, a));
  request.target = std::string(line.substr(a + 1, b - a - 1));
  std::string_view version = line.substr(b + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return request;
  size_t at = line_end + 2;
  while (at < head.size()) {
    size_t end = head.find("\r\n", at);
    if (end == std::string::npos) end = head.size();
    std::string_view field(head.data() + at, end - at);
    at = end + 2;
    if (field.empty()) break;
    size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return request;
    std::string name = lower(std::string(field.substr(0, colon)));
    if (!request.headers.emplace(name, trim(field.substr(colon + 1))).second) return request;
  }
  request.ok = true;
  return request;
}

}  // namespace

class BlobLoopback::Impl {
 public:
  explicit Impl(std::string origin) : origin_(std::move(origin)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener_ < 0) throw std::runtime_error("cannot create the loopback socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 8) != 0) {
      ::close(listener_);
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    host_ = "127.0.0.1:" + std::to_string(port_);
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      ::close(listener_);
      throw std::runtime_error("cannot create the loopback stop pipe");
    }
    stop_read_ = pipe_fds[0];
    stop_write_ = pipe_fds[1];
    thread_ = std::thread([this] { serve(); });
    log::info("photo loopback listening on " + host_);
  }

  ~Impl() {
    char byte = 1;
    [[maybe_unused]] auto ignored = ::write(stop_write_, &byte, 1);
    // A photo being sent to a client that does not read must not hold the
    // host's exit for the send timeout.
    {
      std::lock_guard lock(client_mutex_);
      if (client_ >= 0) ::shutdown(client_, SHUT_RDWR);
    }
    if (thread_.joinable()) thread_.join();
    for (int fd : {listener_, stop_read_, stop_write_})
      if (fd >= 0) ::close(fd);
  }

  int port() const { return port_; }

  std::string grant(Grant g) {
    std::string token = random_hex(32);
    std::lock_guard lock(mutex_);
    int64_t now = now_ms();
    std::erase_if(grants_, [&](const auto& entry) { return entry.second.expires_ms <= now; });
    while (grants_.size() >= kMaxTokens) {
      auto oldest = grants_.begin();
      for (auto it = grants_.begin(); it != grants_.end(); ++it)
        if (it->second.expires_ms < oldest->second.expires_ms) oldest = it;
      grants_.erase(oldest);
    }
    grants_.emplace(token, std::move(g));
    return token;
  }

 private:
  void serve() {
    for (;;) {
      pollfd fds[2] = {{listener_, POLLIN, 0}, {stop_read_, POLLIN, 0}};
      int ready = ::poll(fds, 2, -1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0 || (fds[1].revents & POLLIN)) return;
      if (!(fds[0].revents & POLLIN)) continue;
      UniqueFd client(::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC));
      if (client.get() < 0) continue;
      {
        std::lock_guard lock(client_mutex_);
        client_ = client.get();
      }
      try {
        answer(client.get());
      } catch (const std::exception& e) {
        log::warn(std::string("photo loopback: ") + e.what());
      }
      std::lock_guard lock(client_mutex_);
      client_ = -1;
    }
  }

  // Reads the request head within kRequestDeadlineMs; empty when it did not come.
  std::string read_head(int fd) {
    std::string head;
    int64_t deadline = now_ms() + kRequestDeadlineMs;
    char buffer[2048];
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (head.size() > kMaxRequestHead) return {};
      int64_t left = deadline - now_ms();
      if (left <= 0) return {};
      pollfd fds[2] = {{fd, POLLIN, 0}, {stop_read_, POLLIN, 0}};
      int ready = ::poll(fds, 2, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0 || (fds[1].revents & POLLIN)) return {};
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return {};
      head.append(buffer, static_cast<size_t>(n));
    }
    return head.substr(0, head.find("\r\n\r\n") + 2);
  }

  // Chrome: the origin the browser named. Firefox: its extension origins are
  // per install (moz-extension://<UUID>) and the host is not told ours, so a
  // well-formed moz-extension origin is echoed; the token is what guards the
  // photo, and a web page's origin is never allowed.
  std::string cors_headers(const Request& request) const {
    std::string allowed = origin_;
    if (origin_ == kAnyFirefoxExtension) {
      auto origin = request.headers.find("origin");
      allowed = origin != request.headers.end() && is_firefox_extension_origin(origin->second)
                    ? origin->second
                    : std::string();
    }
    return allowed.empty() ? std::string()
                           : "Access-Control-Allow-Origin: " + allowed + "\r\nVary: Origin\r\n";
  }

  void refuse(int fd, int status, const char* reason, const std::string& extra = {}) {
    log::debug("photo loopback: answered " + std::to_string(status));
    send_all(fd, "HTTP/1.1 " + std::to_string(status) + " " + reason +
                     "\r\nContent-Length: 0\r\nCache-Control: no-store\r\nConnection: close\r\n" +
                     extra + "\r\n");
  }

  std::optional<Grant> find_grant(const std::string& token, const std::string& sha) {
    std::lock_guard lock(mutex_);
    auto it = grants_.find(token);
    if (it == grants_.end() || it->second.sha256 != sha) return std::nullopt;
    if (it->second.expires_ms <= now_ms()) {
      grants_.erase(it);
      return std::nullopt;
    }
    return it->second;
  }

  void answer(int fd) {
    timeval timeout{kSendTimeoutSeconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    std::string head = read_head(fd);
    if (head.empty()) return;
    Request request = parse_head(head);
    auto origin_header = request.headers.find("origin");
    log::debug(
        "photo loopback: " + printable(request.method) + " request from origin " +
        (origin_header == request.headers.end() ? "(none)" : printable(origin_header->second)) +
        (request.headers.contains("access-control-request-private-network")
             ? " (Private Network Access preflight)"
             : ""));
    if (!request.ok) return refuse(fd, 400, "Bad Request");
    // DNS rebinding: a page of another name resolved to 127.0.0.1 sends its own name.
    auto host = request.headers.find("host");
    if (host == request.headers.end() || host->second != host_) return refuse(fd, 403, "Forbidden");
    if (request.method == "OPTIONS") {
      // CORS and Private Network Access preflights: GET only, no headers.
      std::string extra = cors_headers(request) + "Access-Control-Allow-Methods: GET\r\n";
      auto pna = request.headers.find("access-control-request-private-network");
      if (pna != request.headers.end() && pna->second == "true")
        extra += "Access-Control-Allow-Private-Network: true\r\n";
      return refuse(fd, 204, "No Content", extra);
    }
    if (request.method != "GET") return refuse(fd, 405, "Method Not Allowed", "Allow: GET\r\n");
    // /blobs/<sha256>/<token>
    constexpr std::string_view kPrefix = "/blobs/";
    std::string_view target = request.target;
    if (!target.starts_with(kPrefix) || target.size() != kPrefix.size() + 64 + 1 + 64 ||
        target[kPrefix.size() + 64] != '/')
      return refuse(fd, 404, "Not Found");
    std::string sha(target.substr(kPrefix.size(), 64));
    std::string token(target.substr(kPrefix.size() + 65));
    if (!is_sha256_hex(sha)) return refuse(fd, 404, "Not Found");
    // Nothing is sent while the lock is held: blobs.open waits on it.
    std::optional<Grant> grant = find_grant(token, sha);
    if (!grant) return refuse(fd, 403, "Forbidden");
    UniqueFd file(::open(grant->path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat info {};
    if (file.get() < 0 || ::fstat(file.get(), &info) != 0 || info.st_size != grant->size)
      return refuse(fd, 404, "Not Found");
    if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: " + grant->content_type +
                          "\r\nContent-Length: " + std::to_string(grant->size) +
                          "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n" +
                          cors_headers(request) + "Connection: close\r\n\r\n"))
      return;
    off_t offset = 0;
    while (offset < grant->size) {
      ssize_t n =
          ::sendfile(fd, file.get(), &offset,
                     std::min<size_t>(kSendChunk, static_cast<size_t>(grant->size - offset)));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
    }
    ::shutdown(fd, SHUT_WR);
  }

  std::string origin_;
  int listener_ = -1;
  int stop_read_ = -1;
  int stop_write_ = -1;
  int port_ = 0;
  std::string host_;
  std::mutex mutex_;
  std::map<std::string, Grant> grants_;
  std::mutex client_mutex_;
  int client_ = -1;  // the connection being served, shut down by the destructor
  std::thread thread_;
};

bool is_firefox_extension_origin(std::string_view origin) {
  constexpr std::string_view kScheme = "moz-extension://";
  if (!origin.starts_with(kScheme)) return false;
  std::string_view uuid = origin.substr(kScheme.size());
  if (uuid.size() != 36) return false;
  for (size_t i = 0; i < uuid.size(); ++i) {
    char c = uuid[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::optional<std::string> loopback_origin(const std::string& client) {
  if (client.starts_with("firefox ")) return std::string(kAnyFirefoxExtension);
  constexpr std::string_view kPrefix = "chrome chrome-extension://";
  if (!client.starts_with(kPrefix)) return std::nullopt;
  std::string origin = client.substr(std::string_view("chrome ").size());
  if (origin.ends_with('/')) origin.pop_back();
  std::string_view id =
      std::string_view(origin).substr(std::string_view("chrome-extension://").size());
  if (id.empty() || id.size() > 64) return std::nullopt;
  for (char c : id)
    if (c < 'a' || c > 'p') return std::nullopt;
  return origin;
}

BlobLoopback::BlobLoopback(service::Service& service, std::string allowed_origin)
    : service_(service), origin_(std::move(allowed_origin)) {
  if (const char* text = std::getenv("STOFLOW_BLOB_URL_MS")) {
    char* end = nullptr;
    long long ms = std::strtoll(text, &end, 10);
    if (end != text && *end == '\0' && ms >= 1 && ms <= 600'000) lifetime_ms_ = ms;
  }
}

BlobLoopback::~BlobLoopback() = default;

int BlobLoopback::port() const {
  return impl_ ? impl_->port() : 0;
}

json BlobLoopback::open(const json& params) {
  service::Params p(params);
  std::string sha = p.string("sha256");
  if (!is_sha256_hex(sha)) {
    throw invalid_params("\"sha256\" must be a lowercase SHA-256 hex digest of a stored photo");
  }
  // A photo of a product that exists, as the dashboard's thumbnails.
  auto q = service_.db().query(
      "SELECT b.content_type FROM blobs b WHERE b.sha256 = ?"
      " AND EXISTS (SELECT 1 FROM product_images i WHERE i.blob_sha256 = b.sha256)",
      sha);
  if (!q.step()) throw not_found("blob " + sha + " is not a stored photo of a product");
  Grant grant;
  grant.sha256 = sha;
  grant.content_type = q.text(0);
  grant.path = service_.blobs().path_for(sha).string();
  struct stat info {};
  if (::stat(grant.path.c_str(), &info) != 0) throw not_found("blob " + sha + " is not stored");
  grant.size = info.st_size;
  grant.expires_ms = now_ms() + lifetime_ms_;
  int64_t expires = grant.expires_ms;
  if (!impl_) impl_ = std::make_unique<Impl>(origin_);
  std::string token = impl_->grant(grant);
  return json{
      {"url", "http://127.0.0.1:" + std::to_string(impl_->port()) + "/blobs/" + sha + "/" + token},
      {"size", grant.size},
      {"content_type", grant.content_type},
      {"sha256", sha},
      {"expires_at", iso8601(expires)}};
}

}  // namespace stoflow::messaging
