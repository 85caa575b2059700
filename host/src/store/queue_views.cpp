#include "store/queue_views.h"

#include "store/statuses.h"
#include "util/clock.h"
#include "util/errors.h"

namespace stoflow::store {

using nlohmann::json;

namespace {

json optional_text(const Statement& q, int column) {
  return q.is_null(column) ? json(nullptr) : json(q.text(column));
}

json optional_int(const Statement& q, int column) {
  return q.is_null(column) ? json(nullptr) : json(q.int64(column));
}

json parse_or_null(const Statement& q, int column) {
  if (q.is_null(column)) return nullptr;
  return json::parse(q.text(column), nullptr, false);
}

// The list and the single queue are the same query, one row per queue, with
// the product's title and the count of finished steps joined in.
#define STOFLOW_QUEUE_VIEW_SELECT                                                           \
  "SELECT q.id, q.platform, q.operation, q.product_id, q.status, q.current_step,"           \
  " q.accumulated_data, q.context_data, q.error_message, q.paused_reason, q.retry_count,"   \
  " q.created_at, q.updated_at, q.total_steps, p.title,"                                    \
  " (SELECT COUNT(*) FROM plugin_tasks t WHERE t.queue_id = q.id AND t.status = 'success')" \
  " FROM plugin_queue q LEFT JOIN products p ON p.id = q.product_id"

json queue_view(const Statement& q) {
  json view = {{"id", q.int64(0)},
               {"platform", q.text(1)},
               {"operation", q.text(2)},
               {"product_id", optional_int(q, 3)},
               {"status", q.text(4)},
               {"current_step", optional_text(q, 5)},
               {"accumulated_data", json::parse(q.text(6))},
               {"context_data", json::parse(q.text(7))},
               {"error_message", optional_text(q, 8)},
               {"paused_reason", optional_text(q, 9)},
               {"retry_count", q.int64(10)},
               {"created_at", q.text(11)},
               {"updated_at", q.text(12)},
               {"product_title", optional_text(q, 14)}};
  view["progress"] = {{"done", q.int64(15)},
                      {"total", optional_int(q, 13)},
                      {"current_step", view["current_step"]}};
  return view;
}

json step_view(const Statement& t) {
  json task = {{"id", t.int64(0)},
               {"step", t.text(1)},
               {"status", t.text(2)},
               {"http_method", t.text(3)},
               {"path", t.text(4)},
               {"body", t.text(5)},
               {"payload", json::parse(t.text(6))},
               {"result", parse_or_null(t, 7)},
               {"error_message", optional_text(t, 8)},
               {"retry_count", t.int64(9)},
               {"max_retries", t.int64(10)},
               {"created_at", t.text(11)},
               {"started_at", optional_text(t, 12)},
               {"completed_at", optional_text(t, 13)}};
  if (!t.is_null(14)) task["lease_expires_at"] = iso8601(t.int64(14));
  return task;
}

json handout_view(const Statement& q) {
  json view = {{"id", q.int64(0)},
               {"queue_id", optional_int(q, 1)},
               {"platform", q.text(2)},
               {"operation", q.text(3)},
               {"step", q.text(4)},
               {"http_method", q.text(5)},
               {"path", q.text(6)},
               {"body", q.text(7)},
               {"payload", json::parse(q.text(8))},
               {"attempt", q.int64(9) + 1},
               {"max_attempts", q.int64(10)},
               {"created_at", q.text(11)},
               {"status", q.text(14)}};
  if (!q.is_null(12)) view["lease_expires_at"] = iso8601(q.int64(12));
  if (!q.is_null(13)) view["task_type"] = q.text(13);
  return view;
}

json listing_view(const Statement& q) {
  return {{"id", q.int64(0)},
          {"product_id", q.int64(1)},
          {"platform", q.text(2)},
          {"status", q.text(3)},
          {"remote_id", optional_text(q, 4)},
          {"url", optional_text(q, 5)},
          {"error_message", optional_text(q, 6)},
          {"created_at", q.text(7)},
          {"updated_at", q.text(8)},
          {"published_at", optional_text(q, 9)},
          {"out_of_date", q.int64(10) != 0}};
}

}  // namespace

std::optional<json> QueueViews::queue(int64_t queue_id) {
  auto q = db_.query(STOFLOW_QUEUE_VIEW_SELECT " WHERE q.id = ?", queue_id);
  if (!q.step()) return std::nullopt;
  return queue_view(q);
}

json QueueViews::queues(const QueueFilter& filter) {
  if (filter.status && !parse_queue_status(*filter.status)) {
    throw invalid_params("unknown queue status \"" + *filter.status + "\" (" +
                         queue_status_names() + ")");
  }
  auto q =
      db_.query(STOFLOW_QUEUE_VIEW_SELECT
                " WHERE (?1 IS NULL OR q.status = ?1) AND (?2 IS NULL OR q.platform = ?2)"
                " AND (?3 IS NULL OR q.product_id = ?3) AND (?5 IS NULL OR q.id < ?5)"
                " ORDER BY q.id DESC LIMIT ?4",
                filter.status, filter.platform, filter.product_id, filter.limit, filter.before_id);
  json out = json::array();
  while (q.step()) out.push_back(queue_view(q));
  return out;
}

json QueueViews::steps_of(int64_t queue_id) {
  auto t = db_.query(
      "SELECT id, step, status, http_method, path, body_kind, payload, result, error_message,"
      " retry_count, max_retries, created_at, started_at, completed_at, lease_expires_at"
      " FROM plugin_tasks WHERE queue_id = ? ORDER BY id",
      queue_id);
  json steps = json::array();
  while (t.step()) steps.push_back(step_view(t));
  return steps;
}

std::optional<json> QueueViews::handout(int64_t task_id) {
  auto q = db_.query(
      "SELECT t.id, t.queue_id, t.platform, COALESCE(q.operation, t.task_type),"
      " COALESCE(t.step, t.task_type), t.http_method, t.path, t.body_kind, t.payload,"
      " t.retry_count, t.max_retries, t.created_at, t.lease_expires_at, t.task_type, t.status"
      " FROM plugin_tasks t LEFT JOIN plugin_queue q ON q.id = t.queue_id WHERE t.id = ?",
      task_id);
  if (!q.step()) return std::nullopt;
  return handout_view(q);
}

json QueueViews::listings(const ListingFilter& filter) {
  if (filter.status && !parse_listing_status(*filter.status)) {
    throw invalid_params("unknown listing status \"" + *filter.status + "\" (" +
                         listing_status_names() + ")");
  }
  auto q = db_.query(
      "SELECT id, product_id, platform, status, remote_id, url, error_message, created_at,"
      " updated_at, published_at, out_of_date FROM listings WHERE id > ?1 AND (?2 IS NULL OR "
      "product_id = ?2)"
      " AND (?3 IS NULL OR platform = ?3) AND (?4 IS NULL OR status = ?4) ORDER BY id LIMIT ?5",
      filter.after_id, filter.product_id, filter.platform, filter.status, filter.limit);
  json out = json::array();
  while (q.step()) out.push_back(listing_view(q));
  return out;
}

}  // namespace stoflow::store
