#include "store/tasks.h"

#include <algorithm>

#include "util/clock.h"

namespace stoflow::store {

namespace {

// The columns of a TaskRecord and its reader, side by side.
#define STOFLOW_TASK_COLUMNS                                                                 \
  "id, queue_id, platform, COALESCE(step, task_type, ''), status, retry_count, max_retries," \
  " lease_owner, lease_expires_at"

TaskRecord read_task(const Statement& q) {
  return TaskRecord{q.int64(0),
                    q.optional_int64(1),
                    q.text(2),
                    q.text(3),
                    stored_task_status(q.int64(0), q.text(4)),
                    static_cast<int>(q.int64(5)),
                    static_cast<int>(q.int64(6)),
                    q.optional_text(7),
                    q.optional_int64(8)};
}

std::vector<int64_t> ids_of(Statement q) {
  std::vector<int64_t> ids;
  while (q.step()) ids.push_back(q.int64(0));
  return ids;
}

// Positions first, then ids: at most one step per platform, so sorting here
// costs nothing, where an ORDER BY would make SQLite build a sorter.
std::vector<int64_t> in_line_order(Statement q) {
  std::vector<std::pair<int64_t, int64_t>> rows;
  while (q.step()) rows.emplace_back(q.int64(0), q.int64(1));
  std::sort(rows.begin(), rows.end());
  std::vector<int64_t> ids;
  for (auto [position, id] : rows) ids.push_back(id);
  return ids;
}

std::optional<WaitingTask> waiting_task(Statement q) {
  if (!q.step()) return std::nullopt;
  return WaitingTask{q.int64(0), q.int64(1), q.int64(2)};
}

std::optional<int64_t> optional_min(Statement q) {
  if (!q.step() || q.is_null(0)) return std::nullopt;
  return q.int64(0);
}

}  // namespace

std::optional<TaskRecord> TaskStore::find(int64_t id) {
  auto q = db_.query("SELECT " STOFLOW_TASK_COLUMNS " FROM plugin_tasks WHERE id = ?", id);
  if (!q.step()) return std::nullopt;
  return read_task(q);
}

int64_t TaskStore::insert(const NewTask& task, const std::string& created_at) {
  db_.exec(
      "INSERT INTO plugin_tasks (queue_id, platform, step, task_type, http_method, path,"
      " body_kind, payload, status, max_retries, position, created_at)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
      task.queue_id, task.platform, task.step, task.task_type, task.http_method, task.path,
      task.body_kind, task.payload, task.max_retries, task.position, created_at);
  return db_.last_insert_id();
}

// Every query below is a lookup in an index of migrations 4 and 6, whose cost
// does not depend on how many steps are queued or finished. The lease
// questions read all of plugin_tasks_in_flight: one entry per platform at most.

bool TaskStore::platform_busy(const std::string& platform) {
  return db_
      .query("SELECT 1 FROM plugin_tasks WHERE platform = ? AND status = 'processing' LIMIT 1",
             platform)
      .step();
}

std::optional<WaitingTask> TaskStore::legacy_head(const std::string& platform) {
  return waiting_task(
      db_.query("SELECT id, available_at, position FROM plugin_tasks WHERE platform = ?"
                " AND queue_id IS NULL AND status = 'pending' ORDER BY position LIMIT 1",
                platform));
}

std::optional<WaitingTask> TaskStore::first_pending(int64_t queue_id) {
  return waiting_task(
      db_.query("SELECT id, available_at, position FROM plugin_tasks WHERE queue_id = ?"
                " AND status = 'pending' ORDER BY id LIMIT 1",
                queue_id));
}

std::optional<std::string> TaskStore::legacy_platform_after(const std::string& after) {
  auto q = db_.query(
      "SELECT platform FROM plugin_tasks INDEXED BY plugin_tasks_legacy_line"
      " WHERE queue_id IS NULL AND status = 'pending' AND platform > ?"
      " ORDER BY platform LIMIT 1",
      after);
  if (!q.step()) return std::nullopt;
  return q.text(0);
}

int64_t TaskStore::successful_steps(int64_t queue_id) {
  auto q = db_.query("SELECT COUNT(*) FROM plugin_tasks WHERE queue_id = ? AND status = 'success'",
                     queue_id);
  q.step();
  return q.int64(0);
}

std::vector<int64_t> TaskStore::held_by(const std::string& owner, int64_t now) {
  return in_line_order(
      db_.query("SELECT position, id FROM plugin_tasks INDEXED BY plugin_tasks_in_flight"
                " WHERE status = 'processing' AND lease_owner = ?"
                " AND lease_expires_at > ?",
                owner, now));
}

std::vector<int64_t> TaskStore::leased_to(const std::string& owner) {
  return ids_of(
      db_.query("SELECT id FROM plugin_tasks INDEXED BY plugin_tasks_in_flight"
                " WHERE status = 'processing' AND lease_owner = ?",
                owner));
}

std::vector<int64_t> TaskStore::expired(int64_t now) {
  return ids_of(db_.query(
      "SELECT id FROM plugin_tasks INDEXED BY plugin_tasks_in_flight WHERE status = 'processing'"
      " AND (lease_expires_at IS NULL OR lease_expires_at <= ?)",
      now));
}

std::vector<std::string> TaskStore::owners_other_than(const std::string& self) {
  std::vector<std::string> owners;
  auto q = db_.query(
      "SELECT DISTINCT lease_owner FROM plugin_tasks INDEXED BY plugin_tasks_in_flight"
      " WHERE status = 'processing'"
      " AND lease_owner IS NOT NULL AND lease_owner != ?",
      self);
  while (q.step()) owners.push_back(q.text(0));
  return owners;
}

std::optional<int64_t> TaskStore::earliest_lease_expiry() {
  return optional_min(
      db_.query("SELECT MIN(lease_expires_at) FROM plugin_tasks INDEXED BY plugin_tasks_in_flight"
                " WHERE status = 'processing'"));
}

std::optional<int64_t> TaskStore::earliest_retry_after(int64_t now) {
  // `available_at > 0` names the delayed-steps index (migration 6): a step
  // that never waited is not in it.
  return optional_min(db_.query(
      "SELECT MIN(available_at) FROM plugin_tasks WHERE status = 'pending' AND available_at > 0"
      " AND available_at > ?",
      now));
}

// ----------------------------------------------------------------- transitions

void TaskStore::expect_one_change(const TaskRecord& task, const char* transition) {
  if (db_.changes() == 1) return;
  throw StaleTransition(std::string(transition) + " of task " + std::to_string(task.id) +
                        ": it is no longer " + to_string(task.status) +
                        (task.lease_owner ? " for " + *task.lease_owner : std::string()));
}

TaskRecord TaskStore::lease(int64_t id, const std::string& owner, int64_t expires_at, int64_t now) {
  auto q = db_.query(
      "UPDATE plugin_tasks SET status = 'processing', lease_owner = ?, lease_expires_at = ?,"
      " started_at = ? WHERE id = ? AND status = 'pending' RETURNING " STOFLOW_TASK_COLUMNS,
      owner, expires_at, iso8601(now), id);
  if (!q.step()) throw StaleTransition("lease of task " + std::to_string(id) + ": not pending");
  return read_task(q);
}

void TaskStore::succeed(const TaskRecord& task, const std::string& result, const std::string& now) {
  db_.exec(
      "UPDATE plugin_tasks SET status = 'success', result = ?, error_message = NULL,"
      " lease_owner = NULL, lease_expires_at = NULL, completed_at = ?"
      " WHERE id = ? AND status = 'processing' AND lease_owner IS ?",
      result, now, task.id, task.lease_owner);
  expect_one_change(task, "success");
}

void TaskStore::fail(const TaskRecord& task, int retry_count, const std::string& message,
                     const std::string& now) {
  db_.exec(
      "UPDATE plugin_tasks SET status = 'failed', retry_count = ?, error_message = ?,"
      " lease_owner = NULL, lease_expires_at = NULL, completed_at = ?"
      " WHERE id = ? AND status = 'processing' AND lease_owner IS ?",
      retry_count, message, now, task.id, task.lease_owner);
  expect_one_change(task, "failure");
}

void TaskStore::requeue(const TaskRecord& task, const Requeue& requeue) {
  db_.exec(
      "UPDATE plugin_tasks SET status = 'pending', retry_count = ?, error_message = ?,"
      " lease_owner = NULL, lease_expires_at = NULL, available_at = COALESCE(?, available_at)"
      " WHERE id = ? AND status = 'processing' AND lease_owner IS ?",
      requeue.retry_count, requeue.error_message, requeue.available_at, task.id, task.lease_owner);
  expect_one_change(task, "return to the line");
}

void TaskStore::cancel_open_steps(int64_t queue_id, const std::string& reason,
                                  const std::string& now) {
  db_.exec(
      "UPDATE plugin_tasks SET status = 'failed', error_message = ?, lease_owner = NULL,"
      " lease_expires_at = NULL, completed_at = ? WHERE queue_id = ?"
      " AND status IN ('pending', 'processing')",
      reason, now, queue_id);
}

void TaskStore::make_ready(int64_t queue_id) {
  db_.exec("UPDATE plugin_tasks SET available_at = 0 WHERE queue_id = ? AND status = 'pending'",
           queue_id);
}

// -------------------------------------------------------------------- attempts

void TaskStore::open_attempt(int64_t task_id, int attempt, const std::string& owner,
                             const std::string& now) {
  db_.exec(
      "INSERT INTO task_attempts (task_id, attempt, lease_owner, started_at) VALUES (?, ?, ?, ?)",
      task_id, attempt, owner, now);
}

void TaskStore::close_attempt(int64_t task_id, const AttemptEnd& end, const std::string& now) {
  db_.exec(
      "UPDATE task_attempts SET finished_at = ?, outcome = ?, http_status = ?, error_message = ?,"
      " request_hash = ?, response = ? WHERE id = (SELECT MAX(id) FROM task_attempts"
      " WHERE task_id = ?)",
      now, end.outcome, end.http_status, end.error_message, end.request_hash, end.response,
      task_id);
}

std::optional<std::string> TaskStore::earlier_reply(int64_t task_id,
                                                    const std::string& request_hash) {
  auto q = db_.query(
      "SELECT response FROM task_attempts WHERE task_id = ? AND request_hash = ?"
      " AND response IS NOT NULL ORDER BY attempt DESC, id DESC LIMIT 1",
      task_id, request_hash);
  if (!q.step()) return std::nullopt;
  return q.text(0);
}

}  // namespace stoflow::store
