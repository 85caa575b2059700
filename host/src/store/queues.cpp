#include "store/queues.h"

#include "util/errors.h"

namespace stoflow::store {

using nlohmann::json;

namespace {

// The columns of a QueueRecord and its reader, side by side.
#define STOFLOW_QUEUE_COLUMNS \
  "id, platform, operation, product_id, status, accumulated_data, context_data, position"

QueueRecord read_queue(const Statement& q) {
  return QueueRecord{q.int64(0),
                     q.text(1),
                     q.text(2),
                     q.optional_int64(3),
                     stored_queue_status(q.int64(0), q.text(4)),
                     json::parse(q.text(5)),
                     json::parse(q.text(6)),
                     q.int64(7)};
}

// The statuses a transition moves an operation from, as SQL.
#define STOFLOW_RUNNING "('queued', 'processing')"
#define STOFLOW_ACTIVE "('queued', 'processing', 'paused')"

}  // namespace

bool is_active(QueueStatus status) {
  return status == QueueStatus::kQueued || status == QueueStatus::kProcessing ||
         status == QueueStatus::kPaused;
}

std::optional<QueueRecord> QueueStore::find(int64_t id) {
  auto q = db_.query("SELECT " STOFLOW_QUEUE_COLUMNS " FROM plugin_queue WHERE id = ?", id);
  if (!q.step()) return std::nullopt;
  return read_queue(q);
}

QueueRecord QueueStore::get(int64_t id) {
  auto queue = find(id);
  if (!queue) throw not_found("queue " + std::to_string(id) + " does not exist");
  return *queue;
}

QueueRecord QueueStore::insert(QueueRecord queue, const std::string& now) {
  db_.exec(
      "INSERT INTO plugin_queue (platform, operation, product_id, status, accumulated_data,"
      " context_data, position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      queue.platform, queue.operation, queue.product_id, to_string(queue.status),
      queue.accumulated.dump(), queue.context.dump(), queue.position, now, now);
  queue.id = db_.last_insert_id();
  return queue;
}

int64_t QueueStore::next_position() {
  auto q = db_.query(
      "INSERT INTO sequences (name, value) VALUES ('fifo', 1)"
      " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value");
  q.step();
  return q.int64(0);
}

// The line lookups read plugin_queue_line (migration 4): their WHERE clauses
// are the index's, word for word, so SQLite picks it.
std::optional<LineHead> QueueStore::line_head(const std::string& platform) {
  auto q = db_.query(
      "SELECT id, status, position FROM plugin_queue WHERE platform = ?"
      " AND status IN ('queued', 'processing', 'paused') ORDER BY position LIMIT 1",
      platform);
  if (!q.step()) return std::nullopt;
  return LineHead{q.int64(0), stored_queue_status(q.int64(0), q.text(1)), q.int64(2)};
}

std::optional<std::string> QueueStore::active_platform_after(const std::string& after) {
  auto q = db_.query(
      "SELECT platform FROM plugin_queue INDEXED BY plugin_queue_line"
      " WHERE status IN ('queued', 'processing', 'paused') AND platform > ?"
      " ORDER BY platform LIMIT 1",
      after);
  if (!q.step()) return std::nullopt;
  return q.text(0);
}

std::optional<ActiveOperation> QueueStore::active_for(int64_t product_id,
                                                      const std::string& platform) {
  auto q = db_.query(
      "SELECT id, operation FROM plugin_queue WHERE product_id = ? AND platform = ?"
      " AND status IN " STOFLOW_ACTIVE,
      product_id, platform);
  if (!q.step()) return std::nullopt;
  return ActiveOperation{q.int64(0), q.text(1)};
}

// ----------------------------------------------------------------- transitions

void QueueStore::expect_one_change(int64_t id, const char* transition) {
  if (db_.changes() == 1) return;
  auto queue = find(id);
  throw StaleTransition(std::string(transition) + " of queue " + std::to_string(id) + ": it is " +
                        (queue ? to_string(queue->status) : "gone"));
}

void QueueStore::set_step(int64_t id, const StepProgress& progress, const std::string& now) {
  db_.exec(
      "UPDATE plugin_queue SET current_step = ?, total_steps = ?, updated_at = ?"
      " WHERE id = ? AND status IN " STOFLOW_RUNNING,
      progress.step, progress.total_steps, now, id);
  expect_one_change(id, "step");
}

void QueueStore::start(int64_t id, const std::string& step, const std::string& now) {
  db_.exec(
      "UPDATE plugin_queue SET status = 'processing', current_step = ?, updated_at = ?"
      " WHERE id = ? AND status = 'queued'",
      step, now, id);
  expect_one_change(id, "start");
}

void QueueStore::advance(int64_t id, const json& accumulated, const StepProgress& next,
                         const std::string& now) {
  db_.exec(
      "UPDATE plugin_queue SET accumulated_data = ?, error_message = NULL, current_step = ?,"
      " total_steps = ?, updated_at = ? WHERE id = ? AND status = 'processing'",
      accumulated.dump(), next.step, next.total_steps, now, id);
  expect_one_change(id, "advance");
}

void QueueStore::complete(int64_t id, const json& accumulated, const std::string& now) {
  db_.exec(
      "UPDATE plugin_queue SET status = 'completed', accumulated_data = ?, error_message = NULL,"
      " current_step = NULL, updated_at = ? WHERE id = ? AND status IN " STOFLOW_RUNNING,
      accumulated.dump(), now, id);
  expect_one_change(id, "completion");
}

void QueueStore::fail(int64_t id, const std::string& message, const std::string& now) {
  db_.exec(
      "UPDATE plugin_queue SET status = 'failed', error_message = ?, updated_at = ?"
      " WHERE id = ? AND status IN " STOFLOW_ACTIVE,
      message, now, id);
  expect_one_change(id, "failure");
}

void QueueStore::note_error(int64_t id, const std::string& message, const std::string& now) {
  db_.exec(
      "UPDATE plugin_queue SET error_message = ?, updated_at = ? WHERE id = ?"
      " AND status IN " STOFLOW_ACTIVE,
      message, now, id);
  expect_one_change(id, "error note");
}

void QueueStore::pause(int64_t id, const std::string& reason, const std::string& now) {
  db_.exec(
      "UPDATE plugin_queue SET status = 'paused', paused_reason = ?, updated_at = ?"
      " WHERE id = ? AND status IN " STOFLOW_RUNNING,
      reason, now, id);
  expect_one_change(id, "pause");
}

void QueueStore::resume(int64_t id, QueueStatus status, const std::string& now) {
  db_.exec(
      "UPDATE plugin_queue SET status = ?, paused_reason = NULL, updated_at = ?"
      " WHERE id = ? AND status = 'paused'",
      to_string(status), now, id);
  expect_one_change(id, "resume");
}

void QueueStore::requeue(int64_t id, int64_t position, const std::string& now) {
  db_.exec(
      "UPDATE plugin_queue SET status = 'queued', error_message = NULL, paused_reason = NULL,"
      " retry_count = retry_count + 1, position = ?, updated_at = ?"
      " WHERE id = ? AND status IN ('failed', 'cancelled')",
      position, now, id);
  expect_one_change(id, "retry");
}

void QueueStore::cancel(int64_t id, const std::string& reason, const std::string& now) {
  db_.exec(
      "UPDATE plugin_queue SET status = 'cancelled', error_message = ?, paused_reason = NULL,"
      " updated_at = ? WHERE id = ? AND status IN " STOFLOW_ACTIVE,
      reason, now, id);
  expect_one_change(id, "cancellation");
}

}  // namespace stoflow::store
