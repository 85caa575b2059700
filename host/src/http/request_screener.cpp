#include "http/request_screener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "http/error_body.h"
#include "util/log.h"

namespace stoflow::http {

namespace {

#ifdef MSG_NOSIGNAL
constexpr int kSendFlags = MSG_NOSIGNAL | MSG_DONTWAIT;
#else
constexpr int kSendFlags = MSG_DONTWAIT;  // serve ignores SIGPIPE
#endif

// After a refusal the client may still be sending; reading (and dropping) what
// it sends for a moment lets it see the answer instead of a reset.
constexpr auto kLingerAfterRefusal = std::chrono::seconds(2);
// When the process is out of file descriptors and nothing can be dropped.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(50);

bool is_transient(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

bool set_flag(int fd, int get, int set, int flag) {
  int flags = ::fcntl(fd, get);
  return flags >= 0 && ::fcntl(fd, set, flags | flag) == 0;
}

void close_socket(int fd) {
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view trim(std::string_view text) {
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

uint64_t saturating_add(uint64_t a, uint64_t b) {
  return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

// Waits until `fd` is ready for `events`; false on timeout, error, or once
// `stop_fd` (if any) is readable.
bool wait_ready(int fd, short events, SteadyClock::time_point until, int stop_fd) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(until - SteadyClock::now());
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    int ready = ::poll(fds, stop_fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || fds[1].revents != 0) return false;
    return (fds[0].revents & (events | POLLHUP | POLLERR)) != 0;
  }
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length)
                : ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  if (rc != 0 || address.ss_family != AF_INET) return;
  const auto& in = reinterpret_cast<const sockaddr_in&>(address);
  char text[INET_ADDRSTRLEN] = {};
  if (::inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text))) ip = text;
  port = ntohs(in.sin_port);
}

const char* reason_phrase(int status) {
  switch (status) {
    case 401:
      return "Unauthorized";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Service Unavailable";
  }
}

// A whole HTTP/1.1 answer in the JSON error shape of every other answer.
std::string error_response(int status, ErrorCode code, const std::string& message,
                           const std::string& extra_headers = "") {
  std::string body = error_body(code, message).dump();
  return "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
         "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Best effort: the answer is small and the socket's send buffer empty.
void send_now(int fd, const std::string& response) {
  [[maybe_unused]] ssize_t sent = ::send(fd, response.data(), response.size(), kSendFlags);
}

}  // namespace

// ---------------------------------------------------------------- RequestHead

// Lines are cut as httplib cuts them, at each LF: a line that does not end
// in CRLF is skipped, by httplib and so here. Cut at CRLF only, "X-A: 1\n
// Content-Length: 9\r\n" was one header here and a Content-Length there, and
// the screener handed a worker a request whose body it had not waited for.
std::string RequestHead::header(std::string_view name) const {
  std::string_view rest = text_;
  bool request_line = true;
  while (!rest.empty()) {
    auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    if (request_line) {
      request_line = false;
      continue;
    }
    if (line.empty() || line.back() != '\r') continue;
    line.remove_suffix(1);
    auto colon = line.find(':');
    if (colon != std::string_view::npos && equal_ignoring_case(line.substr(0, colon), name)) {
      return std::string(trim(line.substr(colon + 1)));
    }
  }
  return {};
}

uint64_t RequestHead::content_length() const {
  std::string value = header("Content-Length");
  return value.empty() ? 0 : std::strtoull(value.c_str(), nullptr, 10);
}

bool RequestHead::expects_continue() const {
  return equal_ignoring_case(header("Expect"), "100-continue");
}

// ------------------------------------------------------------- ScreenedStream

ScreenedStream::ScreenedStream(int fd, std::string bytes, uint64_t request_end,
                               SteadyClock::time_point deadline, int stop_fd)
    : fd_(fd),
      bytes_(std::move(bytes)),
      request_end_(request_end),
      deadline_(deadline),
      stop_fd_(stop_fd) {}

ScreenedStream::~ScreenedStream() {
  close_socket(fd_);
}

bool ScreenedStream::is_readable() const {
  if (consumed_ < bytes_.size()) return true;
  pollfd fd{fd_, POLLIN, 0};
  return consumed_<request_end_&& ::poll(&fd, 1, 0)> 0;
}

bool ScreenedStream::is_writable() const {
  return wait_ready(fd_, POLLOUT, SteadyClock::now() + kWriteTimeout, -1);
}

ssize_t ScreenedStream::read(char* ptr, size_t size) {
  if (consumed_ >= request_end_) return 0;  // all the client announced has been read
  size = static_cast<size_t>(std::min<uint64_t>(size, request_end_ - consumed_));
  if (consumed_ < bytes_.size()) {
    size_t n = std::min<size_t>(size, bytes_.size() - consumed_);
    std::copy_n(bytes_.data() + consumed_, n, ptr);
    consumed_ += n;
    return static_cast<ssize_t>(n);
  }
  // The rest of a large body, which the screener let through for a holder of
  // the token: still bounded by the request's deadline, and by stop().
  while (wait_ready(fd_, POLLIN, deadline_, stop_fd_)) {
    ssize_t n = ::recv(fd_, ptr, size, MSG_DONTWAIT);
    if (n >= 0) {
      consumed_ += static_cast<uint64_t>(n);
      return n;
    }
    if (!is_transient(errno)) break;
  }
  return -1;
}

ssize_t ScreenedStream::write(const char* ptr, size_t size) {
  // All or nothing: httplib writes status lines and headers without retrying.
  size_t sent = 0;
  while (sent < size) {
    if (!wait_ready(fd_, POLLOUT, SteadyClock::now() + kWriteTimeout, -1)) return -1;
    ssize_t n = ::send(fd_, ptr + sent, size - sent, kSendFlags);
    if (n < 0 && !is_transient(errno)) return -1;
    if (n > 0) sent += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(size);
}

void ScreenedStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  address_of(fd_, true, ip, port);
}

void ScreenedStream::get_local_ip_and_port(std::string& ip, int& port) const {
  address_of(fd_, false, ip, port);
}

// ------------------------------------------------------------ RequestScreener

// A connection whose request has not fully arrived yet.
struct RequestScreener::Waiting {
  int fd = -1;  // -1 once handed over or closed
  SteadyClock::time_point deadline;
  std::string bytes;
  size_t scanned = 0;            // where to resume looking for the end of the head
  size_t head_size = 0;          // 0 until the head has arrived
  uint64_t request_end = 0;      // head and announced body
  bool hand_over_early = false;  // a token holder's body still to come, read by the worker
  bool refused = false;          // answered; reading and dropping until the client closes

  void close() {
    if (fd >= 0) close_socket(fd);
    fd = -1;
  }
  void answer_and_close(const std::string& response) {
    send_now(fd, response);
    close();
  }
  void refuse(const std::string& response, SteadyClock::time_point now) {
    send_now(fd, response);
    ::shutdown(fd, SHUT_WR);
    refused = true;
    bytes.clear();
    bytes.shrink_to_fit();
    deadline = std::min(deadline, now + kLingerAfterRefusal);
  }
};

RequestScreener::RequestScreener(ScreenerLimits limits, Authenticated authenticated)
    : limits_(limits), authenticated_(std::move(authenticated)) {
  if (::pipe(stop_pipe_) != 0) throw std::runtime_error("cannot create the HTTP server's pipe");
  for (int fd : stop_pipe_) {
    set_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC);
    set_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK);
  }
}

RequestScreener::~RequestScreener() {
  for (auto& waiting : waiting_) waiting.close();
  if (listener_ >= 0) ::close(listener_);
  for (int fd : stop_pipe_) ::close(fd);
}

int RequestScreener::listen(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  set_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC);
  set_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK);
  // SO_REUSEADDR allows a quick restart over TIME_WAIT connections; no
  // SO_REUSEPORT, which would let a second `serve` take half of the requests.
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(fd, SOMAXCONN) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return -1;
  }
  listener_ = fd;
  return ntohs(address.sin_port);
}

void RequestScreener::stop() {
  if (!stopped_.exchange(true)) {
    [[maybe_unused]] ssize_t written = ::write(stop_pipe_[1], "x", 1);
  }
}

void RequestScreener::run(const Dispatch& dispatch) {
  std::vector<pollfd> fds;
  while (!stopped_) {
    auto now = SteadyClock::now();
    bool accepting = now >= accept_paused_until_;
    fds.assign({{stop_pipe_[0], POLLIN, 0}, {accepting ? listener_ : -1, POLLIN, 0}});
    for (const auto& waiting : waiting_) fds.push_back({waiting.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), poll_timeout_ms(now)) < 0 && errno != EINTR) {
      log::error(std::string("HTTP server: poll failed: ") + std::strerror(errno));
      break;
    }
    if (fds[0].revents != 0) break;
    now = SteadyClock::now();
    for (size_t i = 0; i < waiting_.size(); ++i) {
      if (fds[i + 2].revents != 0) receive(waiting_[i], now, dispatch);
    }
    expire(now);
    std::erase_if(waiting_, [](const Waiting& waiting) { return waiting.fd < 0; });
    if (fds[1].revents != 0) accept_new(now);
  }
  for (auto& waiting : waiting_) waiting.close();
  waiting_.clear();
  if (listener_ >= 0) ::close(listener_);
  listener_ = -1;
}

int RequestScreener::poll_timeout_ms(SteadyClock::time_point now) const {
  auto next = SteadyClock::time_point::max();
  for (const auto& waiting : waiting_) next = std::min(next, waiting.deadline);
  if (now < accept_paused_until_) next = std::min(next, accept_paused_until_);
  if (next == SteadyClock::time_point::max()) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 60'000));
}

void RequestScreener::accept_new(SteadyClock::time_point now) {
  // A bounded burst, so that connections already waiting are read in between.
  for (int burst = 0; burst < 64; ++burst) {
    int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) {
      if (errno == ECONNABORTED || errno == EINTR) continue;
      if (errno == EMFILE || errno == ENFILE) {
        if (waiting_.empty()) {
          accept_paused_until_ = now + kAcceptBackoff;
          return;
        }
        drop_oldest();
        continue;
      }
      return;  // nothing more to accept
    }
    set_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC);
    if (waiting_.size() >= limits_.max_connections) drop_oldest();
    Waiting waiting;
    waiting.fd = fd;
    waiting.deadline = now + limits_.deadline;
    waiting_.push_back(std::move(waiting));
  }
}

// The oldest is the nearest to its deadline, and the likeliest to be an idle
// or hostile client: a live one sends its request at once.
void RequestScreener::drop_oldest() {
  if (waiting_.empty()) return;
  log::debug("HTTP server: too many connections waiting; closing the oldest");
  Waiting& oldest = waiting_.front();
  if (!oldest.bytes.empty() && !oldest.refused) {
    oldest.answer_and_close(error_response(503, ErrorCode::kInvalidRequest,
                                           "too many connections are waiting: try again"));
  }
  oldest.close();
  waiting_.erase(waiting_.begin());
}

void RequestScreener::receive(Waiting& waiting, SteadyClock::time_point now,
                              const Dispatch& dispatch) {
  char buffer[16 * 1024];
  size_t wanted =
      waiting.head_size == 0 ? limits_.max_head_bytes : static_cast<size_t>(waiting.request_end);
  size_t room =
      waiting.refused ? sizeof(buffer) : std::min(sizeof(buffer), wanted - waiting.bytes.size());
  ssize_t n = ::recv(waiting.fd, buffer, room, MSG_DONTWAIT);
  if (n < 0 && is_transient(errno)) return;
  if (n <= 0) {
    waiting.close();  // the client gave up (or reset)
    return;
  }
  if (waiting.refused) return;
  waiting.bytes.append(buffer, static_cast<size_t>(n));
  screen(waiting, now, dispatch);
}

void RequestScreener::screen(Waiting& waiting, SteadyClock::time_point now,
                             const Dispatch& dispatch) {
  if (waiting.head_size == 0) {
    auto end = waiting.bytes.find("\r\n\r\n", waiting.scanned);
    if (end == std::string::npos) {
      if (waiting.bytes.size() >= limits_.max_head_bytes) {
        waiting.refuse(error_response(431, ErrorCode::kInvalidRequest,
                                      "the request head is over " +
                                          std::to_string(limits_.max_head_bytes) + " bytes"),
                       now);
        return;
      }
      waiting.scanned = waiting.bytes.size() < 3 ? 0 : waiting.bytes.size() - 3;
      return;
    }
    waiting.head_size = end + 4;
    on_head(waiting, now);
    if (waiting.refused) return;
  }
  if (waiting.hand_over_early || waiting.bytes.size() >= waiting.request_end) {
    waiting.bytes.resize(std::min<uint64_t>(waiting.bytes.size(), waiting.request_end));
    dispatch(std::make_unique<ScreenedStream>(waiting.fd, std::move(waiting.bytes),
                                              waiting.request_end, waiting.deadline,
                                              stop_pipe_[0]));
    waiting.fd = -1;
  }
}

// Decides, once, what the rest of the request may cost: a small body is
// waited for here; a large one is read by a worker, for a token holder only.
void RequestScreener::on_head(Waiting& waiting, SteadyClock::time_point now) {
  RequestHead head(std::string_view(waiting.bytes).substr(0, waiting.head_size));
  uint64_t length = head.content_length();
  waiting.request_end = saturating_add(waiting.head_size, length);
  bool large = length > limits_.max_waited_body_bytes;
  // The token is checked only where it changes something: httplib checks it
  // again, with everything else, once a worker has the request.
  if (!large && !head.expects_continue()) return;
  if (authenticated_(head)) {
    // A client sending "Expect: 100-continue" waits for our answer before its body.
    waiting.hand_over_early = true;
  } else if (large) {
    waiting.refuse(error_response(401, ErrorCode::kForbidden,
                                  "missing or wrong token: a request body over " +
                                      std::to_string(limits_.max_waited_body_bytes) +
                                      " bytes is read only with \"Authorization: Bearer <token>\"",
                                  "WWW-Authenticate: Bearer\r\n"),
                   now);
  }
}

void RequestScreener::expire(SteadyClock::time_point now) {
  for (auto& waiting : waiting_) {
    if (waiting.fd < 0 || waiting.deadline > now) continue;
    if (waiting.refused || waiting.bytes.empty()) {
      waiting.close();  // an idle connection is not a request: nothing to answer
    } else {
      waiting.answer_and_close(error_response(
          408, ErrorCode::kInvalidRequest,
          "the request did not arrive within " + std::to_string(limits_.deadline.count()) + " ms"));
    }
  }
}

}  // namespace stoflow::http
