#pragma once
// The operations of the queue (plugin_queue), typed. Each transition is one
// guarded UPDATE naming the states it moves the operation from; it throws
// StaleTransition when the row was in none of them.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "store/database.h"
#include "store/statuses.h"
#include "store/tasks.h"

namespace stoflow::store {

struct QueueRecord {
  int64_t id = 0;
  std::string platform;
  std::string operation;
  std::optional<int64_t> product_id;
  QueueStatus status = QueueStatus::kQueued;
  nlohmann::json accumulated = nlohmann::json::object();
  nlohmann::json context = nlohmann::json::object();
  int64_t position = 0;
};

// The oldest unfinished operation of a platform's line.
struct LineHead {
  int64_t id = 0;
  QueueStatus status = QueueStatus::kQueued;
  int64_t position = 0;
};

// The operation of a product that is still under way on a platform.
struct ActiveOperation {
  int64_t id = 0;
  std::string operation;
};

// The step an operation runs now and how many it has (as its flow counts them).
struct StepProgress {
  std::string step;
  int total_steps = 0;
};

bool is_active(QueueStatus status);

class QueueStore {
 public:
  explicit QueueStore(Database& db) : db_(db) {}

  std::optional<QueueRecord> find(int64_t id);
  QueueRecord get(int64_t id);  // throws not_found
  // Inserts a queued operation; its id is set in the record returned.
  QueueRecord insert(QueueRecord queue, const std::string& now);
  // The FIFO counter: every new operation (and every retry) joins the line here.
  int64_t next_position();

  std::optional<LineHead> line_head(const std::string& platform);
  std::optional<std::string> active_platform_after(const std::string& after);
  std::optional<ActiveOperation> active_for(int64_t product_id, const std::string& platform);

  // ------------------------------------------------------------ transitions
  // queued or processing: the step about to run (a new operation's first).
  void set_step(int64_t id, const StepProgress& progress, const std::string& now);
  // queued → processing, as its first step is handed out. Only then: an
  // UPDATE that assigns a status rewrites every index the status is part
  // of, even to the same value, and a step's commit should write few pages.
  void start(int64_t id, const std::string& step, const std::string& now);
  // processing: a step's result folded in, and the next step.
  void advance(int64_t id, const nlohmann::json& accumulated, const StepProgress& next,
               const std::string& now);
  // queued or processing → completed.
  void complete(int64_t id, const nlohmann::json& accumulated, const std::string& now);
  // active → failed.
  void fail(int64_t id, const std::string& message, const std::string& now);
  // active: the last attempt's error, kept while the step is retried.
  void note_error(int64_t id, const std::string& message, const std::string& now);
  // queued or processing → paused.
  void pause(int64_t id, const std::string& reason, const std::string& now);
  // paused → queued, or processing when a step already succeeded.
  void resume(int64_t id, QueueStatus status, const std::string& now);
  // failed or cancelled → queued, at the back of the line.
  void requeue(int64_t id, int64_t position, const std::string& now);
  // active → cancelled.
  void cancel(int64_t id, const std::string& reason, const std::string& now);

 private:
  void expect_one_change(int64_t id, const char* transition);
  Database& db_;
};

}  // namespace stoflow::store
