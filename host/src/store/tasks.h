#pragma once
// The steps of the queue (plugin_tasks) and their hand-outs (task_attempts),
// typed. Each transition of a step is one guarded UPDATE: it names the state it
// moves the step from, and throws StaleTransition when the row was not in that
// state, so a step can never be completed twice or by a connection that lost it.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/database.h"
#include "store/statuses.h"

namespace stoflow::store {

// A transition found its row in another state than the one it guards on.
// Callers check the state first, inside the same transaction, so this means a
// bug: the transaction is rolled back and the caller gets an internal error.
class StaleTransition : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

struct TaskRecord {
  int64_t id = 0;
  std::optional<int64_t> queue_id;  // none for a task written through the V1 API
  std::string platform;
  std::string step;  // the V1 task_type for those
  TaskStatus status = TaskStatus::kPending;
  int retry_count = 0;
  int max_retries = 3;
  std::optional<std::string> lease_owner;
  std::optional<int64_t> lease_expires_at;

  bool held_by(const std::string& owner) const {
    return status == TaskStatus::kProcessing && lease_owner == owner;
  }
  // The hand-out a lease of the step now is (1 for the first).
  int attempt() const { return retry_count + 1; }
};

struct NewTask {
  std::optional<int64_t> queue_id;
  std::string platform;
  std::optional<std::string> step;       // a flow's step
  std::optional<std::string> task_type;  // a V1 task
  std::string http_method;
  std::string path;
  std::string body_kind;
  std::string payload;  // JSON text
  int max_retries = 3;
  int64_t position = 0;
};

// Where a step stands in its line: its id and the moment it may be handed out.
struct WaitingTask {
  int64_t id = 0;
  int64_t available_at = 0;
  int64_t position = 0;
};

// A step that goes back to its line: after a failed attempt, a rate limit or
// a pause. `available_at` unset keeps the moment it had.
struct Requeue {
  int retry_count = 0;
  std::string error_message;
  std::optional<int64_t> available_at;
};

struct AttemptEnd {
  std::string outcome;  // success, failure, paused, delayed, lease_lost
  std::optional<int64_t> http_status;
  std::optional<std::string> error_message;
  std::optional<std::string> request_hash;
  std::optional<std::string> response;  // the reply given, JSON text
};

class TaskStore {
 public:
  explicit TaskStore(Database& db) : db_(db) {}

  std::optional<TaskRecord> find(int64_t id);
  int64_t insert(const NewTask& task, const std::string& created_at);

  // ------------------------------------------------------------ the lines
  bool platform_busy(const std::string& platform);
  std::optional<WaitingTask> legacy_head(const std::string& platform);
  std::optional<WaitingTask> first_pending(int64_t queue_id);
  // The next platform after `after` with a V1 task waiting, in name order.
  std::optional<std::string> legacy_platform_after(const std::string& after);
  int64_t successful_steps(int64_t queue_id);

  // ----------------------------------------------------------- the leases
  // Held by `owner` and not expired at `now`, oldest position first.
  std::vector<int64_t> held_by(const std::string& owner, int64_t now);
  std::vector<int64_t> leased_to(const std::string& owner);
  std::vector<int64_t> expired(int64_t now);
  std::vector<std::string> owners_other_than(const std::string& self);
  std::optional<int64_t> earliest_lease_expiry();
  std::optional<int64_t> earliest_retry_after(int64_t now);

  // ----------------------------------------------------------- transitions
  // pending → processing. Returns the step as leased.
  TaskRecord lease(int64_t id, const std::string& owner, int64_t expires_at, int64_t now);
  // processing (held by owner) → success.
  void succeed(const TaskRecord& task, const std::string& result, const std::string& now);
  // processing (held by owner) → failed, for good.
  void fail(const TaskRecord& task, int retry_count, const std::string& message,
            const std::string& now);
  // processing (held by owner) → pending.
  void requeue(const TaskRecord& task, const Requeue& requeue);
  // pending or processing → failed, every open step of a cancelled queue.
  void cancel_open_steps(int64_t queue_id, const std::string& reason, const std::string& now);
  // A resumed queue's waiting step may be handed out at once.
  void make_ready(int64_t queue_id);

  // ------------------------------------------------------------- attempts
  void open_attempt(int64_t task_id, int attempt, const std::string& owner, const std::string& now);
  // Closes the step's latest hand-out.
  void close_attempt(int64_t task_id, const AttemptEnd& end, const std::string& now);
  // The reply given to an earlier identical report, JSON text.
  std::optional<std::string> earlier_reply(int64_t task_id, const std::string& request_hash);

 private:
  void expect_one_change(const TaskRecord& task, const char* transition);
  Database& db_;
};

}  // namespace stoflow::store
