#pragma once
// Every client of `serve` comes from 127.0.0.1, so nothing can tell a hostile
// one from the seller's by address. httplib reads a request on one of its
// workers and restarts its read timeout at every byte, so a client sending a
// header byte a second keeps a worker for as long as it likes, and 32 of them
// take every worker. The screener reads every connection's request itself, on
// one thread with poll(), and hands a connection to a worker only once its
// request has arrived: the head, and the body when it is small enough to wait
// for. Each request has a deadline. A waiting connection costs a file
// descriptor and the bytes it sent, never a thread.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stoflow::http {

using SteadyClock = std::chrono::steady_clock;

// From accept to the last byte of the request, body included.
inline constexpr std::chrono::milliseconds kRequestDeadline{10000};
inline constexpr size_t kMaxRequestHeadBytes = 16 * 1024;
// Bodies up to this size are waited for before a worker sees the request;
// larger ones are read by the worker, and only for a holder of the token.
inline constexpr size_t kMaxWaitedBodyBytes = 64 * 1024;
inline constexpr size_t kMaxScreenedConnections = 1024;
// A response still being written counts as stalled after this long without progress.
inline constexpr std::chrono::seconds kWriteTimeout{5};

struct ScreenerLimits {
  std::chrono::milliseconds deadline = kRequestDeadline;
  size_t max_head_bytes = kMaxRequestHeadBytes;
  size_t max_waited_body_bytes = kMaxWaitedBodyBytes;
  size_t max_connections = kMaxScreenedConnections;
};

// A complete request head (request line, headers, blank line), as far as
// the screener needs it.
class RequestHead {
 public:
  explicit RequestHead(std::string_view text) : text_(text) {}
  // The first value of the named header (any case), trimmed; empty if absent.
  std::string header(std::string_view name) const;
  // As httplib reads it (strtoull of the first Content-Length); 0 if absent.
  uint64_t content_length() const;
  bool expects_continue() const;

 private:
  std::string_view text_;
};

// What httplib reads a screened request from: the bytes the screener read,
// then, for a body still on its way, the socket until the request's deadline.
// Nothing past the announced end of the request is ever read, so a worker
// never waits for a client that has said all it announced.
class ScreenedStream final : public httplib::Stream {
 public:
  ScreenedStream(int fd, std::string bytes, uint64_t request_end, SteadyClock::time_point deadline,
                 int stop_fd);
  ~ScreenedStream() override;
  ScreenedStream(const ScreenedStream&) = delete;
  ScreenedStream& operator=(const ScreenedStream&) = delete;

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

 private:
  int fd_;
  std::string bytes_;
  uint64_t request_end_;
  uint64_t consumed_ = 0;
  SteadyClock::time_point deadline_;
  int stop_fd_;
};

class RequestScreener {
 public:
  // Whether a head carries the API token (or a dashboard session).
  using Authenticated = std::function<bool(const RequestHead&)>;
  using Dispatch = std::function<void(std::unique_ptr<ScreenedStream>)>;

  RequestScreener(ScreenerLimits limits, Authenticated authenticated);
  ~RequestScreener();
  RequestScreener(const RequestScreener&) = delete;
  RequestScreener& operator=(const RequestScreener&) = delete;

  // Binds 127.0.0.1:port (0 picks a free port); returns the port, or -1.
  int listen(int port);
  // Accepts and screens connections until stop(), handing each arrived
  // request to `dispatch`; then closes the listening socket and every
  // connection still waiting.
  void run(const Dispatch& dispatch);
  // From any thread, any number of times.
  void stop();
  bool stopped() const { return stopped_; }

 private:
  struct Waiting;
  void accept_new(SteadyClock::time_point now);
  void receive(Waiting& waiting, SteadyClock::time_point now, const Dispatch& dispatch);
  void screen(Waiting& waiting, SteadyClock::time_point now, const Dispatch& dispatch);
  void on_head(Waiting& waiting, SteadyClock::time_point now);
  void expire(SteadyClock::time_point now);
  void drop_oldest();
  int poll_timeout_ms(SteadyClock::time_point now) const;

  ScreenerLimits limits_;
  Authenticated authenticated_;
  int listener_ = -1;
  // stop() writes a byte that nobody reads: the read end stays readable, so
  // the screener and every worker reading a body see it in their poll().
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stopped_{false};
  std::vector<Waiting> waiting_;
  SteadyClock::time_point accept_paused_until_{};
};

}  // namespace stoflow::http
