#include "workflow/engine.h"

#include <algorithm>
#include <cmath>

#include "store/statuses.h"
#include "util/clock.h"
#include "util/errors.h"
#include "util/log.h"

namespace stoflow::workflow {

using nlohmann::json;
using store::Transaction;

namespace {

constexpr const char* kActiveQueueStatuses = "('queued', 'processing', 'paused')";

json parse_or_null(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  return json::parse(*text, nullptr, false);
}

std::string id_str(int64_t id) {
  return std::to_string(id);
}

}  // namespace

struct Engine::TaskRow {
  int64_t id = 0;
  std::optional<int64_t> queue_id;
  std::string platform;
  std::string step;
  std::string status;
  int retry_count = 0;
  int max_retries = 3;
  std::optional<std::string> lease_owner;
  std::optional<int64_t> lease_expires_at;
};

struct Engine::QueueRow {
  int64_t id = 0;
  std::string platform;
  std::string operation;
  std::optional<int64_t> product_id;
  std::string status;
  json accumulated;
  json context;
  int64_t position = 0;
};

struct Engine::Outcome {
  enum class Kind { kSuccess, kFailure, kFatal, kPause, kDelay } kind = Kind::kFailure;
  std::string message;
  int64_t delay_ms = 0;
};

Engine::Engine(store::Database& db, store::ProductStore& products, const Registry& registry,
               EngineOptions options)
    : db_(db), products_(products), registry_(registry), options_(options) {}

// ---------------------------------------------------------------- loading rows

std::optional<Engine::TaskRow> Engine::load_task(int64_t task_id) {
  auto q = db_.query(
      "SELECT id, queue_id, platform, COALESCE(step, task_type, ''), status, retry_count,"
      " max_retries, lease_owner, lease_expires_at FROM plugin_tasks WHERE id = ?",
      task_id);
  if (!q.step()) return std::nullopt;
  return TaskRow{q.int64(0),
                 q.optional_int64(1),
                 q.text(2),
                 q.text(3),
                 q.text(4),
                 static_cast<int>(q.int64(5)),
                 static_cast<int>(q.int64(6)),
                 q.optional_text(7),
                 q.optional_int64(8)};
}

std::optional<Engine::QueueRow> Engine::load_queue(int64_t queue_id) {
  auto q = db_.query(
      "SELECT id, platform, operation, product_id, status, accumulated_data, context_data,"
      " position FROM plugin_queue WHERE id = ?",
      queue_id);
  if (!q.step()) return std::nullopt;
  return QueueRow{q.int64(0),
                  q.text(1),
                  q.text(2),
                  q.optional_int64(3),
                  q.text(4),
                  json::parse(q.text(5)),
                  json::parse(q.text(6)),
                  q.int64(7)};
}

Engine::QueueRow Engine::require_queue(int64_t queue_id) {
  auto queue = load_queue(queue_id);
  if (!queue) throw not_found("queue " + id_str(queue_id) + " does not exist");
  return *queue;
}

int64_t Engine::next_position() {
  auto q = db_.query(
      "INSERT INTO sequences (name, value) VALUES ('fifo', 1)"
      " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value");
  q.step();
  return q.int64(0);
}

int64_t Engine::insert_step(const QueueRow& queue, const StepSpec& step, int total_steps) {
  db_.exec(
      "INSERT INTO plugin_tasks (queue_id, platform, step, http_method, path, body_kind, payload,"
      " status, max_retries, position, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, "
      "?)",
      queue.id, queue.platform, step.step, step.http_method, step.path, to_string(step.body),
      step.payload.dump(), options_.max_retries, queue.position, now_iso());
  int64_t task_id = db_.last_insert_id();
  // The total is the flow's count as of this step (a flow may learn it as it
  // goes, a sync reading pages): stored so that a list of queues is one query.
  db_.exec("UPDATE plugin_queue SET current_step = ?, total_steps = ?, updated_at = ? WHERE id = ?",
           step.step, total_steps, now_iso(), queue.id);
  return task_id;
}

// --------------------------------------------------------------------- enqueue

struct Engine::ListingRow {
  int64_t id = 0;
  store::ListingStatus status = store::ListingStatus::kPending;
  std::string remote_id;
  std::string url;
};

std::optional<Engine::ListingRow> Engine::load_listing(int64_t product_id,
                                                       const std::string& platform) {
  auto q = db_.query(
      "SELECT id, status, COALESCE(remote_id, ''), COALESCE(url, '') FROM listings"
      " WHERE product_id = ? AND platform = ?",
      product_id, platform);
  if (!q.step()) return std::nullopt;
  auto status = store::parse_listing_status(q.text(1));
  if (!status)
    throw std::runtime_error("listing " + id_str(q.int64(0)) + " has status " + q.text(1));
  return ListingRow{q.int64(0), *status, q.text(2), q.text(3)};
}

ListingState Engine::listing_state(const QueueRow& queue) {
  ListingState state;
  if (!queue.product_id) return state;
  if (auto row = load_listing(*queue.product_id, queue.platform)) {
    state.status = row->status;
    state.remote_id = row->remote_id;
    state.url = row->url;
  }
  return state;
}

namespace {
std::string listing_words(const std::optional<store::ListingStatus>& status) {
  return status ? std::string(store::to_string(*status)) : std::string("not listed");
}
}  // namespace

// An operation starts only from a listing state its flow names (a product is
// never published twice, only a published listing is updated or deleted), and
// never while another operation of the product on the platform is under way.
std::optional<Engine::ListingRow> Engine::check_can_start(const Flow& flow, int64_t product_id) {
  std::string platform = flow.platform();
  auto listing = load_listing(product_id, platform);
  std::optional<store::ListingStatus> current;
  if (listing) current = listing->status;
  auto active = db_.query(std::string("SELECT id, operation FROM plugin_queue WHERE product_id = ? "
                                      "AND platform = ? AND status IN ") +
                              kActiveQueueStatuses,
                          product_id, platform);
  if (active.step()) {
    int64_t queue_id = active.int64(0);
    throw AppError(ErrorCode::kWrongState,
                   "product " + id_str(product_id) + " is already queued for " + platform + " (" +
                       active.text(1) + ", queue " + id_str(queue_id) + ")",
                   json{{"queue_id", queue_id}});
  }
  auto needs = flow.listing_rule().needs;
  if (std::find(needs.begin(), needs.end(), current) == needs.end()) {
    if (current == flow.listing_rule().on_success) {
      throw AppError(ErrorCode::kWrongState,
                     "product " + id_str(product_id) + " is already " + listing_words(current) +
                         " on " + platform,
                     json{{"listing_status", listing_words(current)}});
    }
    std::string allowed;
    for (const auto& status : needs)
      allowed += (allowed.empty() ? "" : ", ") + listing_words(status);
    throw AppError(ErrorCode::kWrongState,
                   flow.operation() + " of product " + id_str(product_id) + " on " + platform +
                       " needs a listing that is " + allowed + "; it is " + listing_words(current),
                   json{{"listing_status", current ? json(store::to_string(*current)) : json()}});
  }
  return listing;
}

void Engine::apply_listing_rule(const QueueRow& queue, std::optional<store::ListingStatus> status,
                                const std::string& error, const ListingOutcome* outcome) {
  if (!queue.product_id) return;
  std::string now = now_iso();
  std::optional<std::string> error_text;
  if (!error.empty()) error_text = error;
  if (!status) {
    // The listing stays as it was online; the seller still sees why the operation failed.
    db_.exec(
        "UPDATE listings SET error_message = ?, updated_at = ? WHERE product_id = ? AND platform = "
        "?",
        error_text, now, *queue.product_id, queue.platform);
    return;
  }
  if (outcome) {
    db_.exec(
        "UPDATE listings SET status = ?, remote_id = ?, url = ?, error_message = NULL,"
        " published_at = ?, updated_at = ? WHERE product_id = ? AND platform = ?",
        store::to_string(*status), outcome->remote_id, outcome->url, now, now, *queue.product_id,
        queue.platform);
    return;
  }
  db_.exec(
      "UPDATE listings SET status = ?, error_message = ?, updated_at = ?"
      " WHERE product_id = ? AND platform = ?",
      store::to_string(*status), error_text, now, *queue.product_id, queue.platform);
}

// A queue whose flow is no longer known (a platform removed) fails its listing.
std::optional<store::ListingStatus> Engine::failure_status(const QueueRow& queue) const {
  const Flow* flow = registry_.find(queue.platform, queue.operation);
  return flow ? flow->listing_rule().on_failure : store::ListingStatus::kFailed;
}

EnqueueReceipt Engine::enqueue(const std::string& platform, const std::string& operation,
                               int64_t product_id, const json& params) {
  const Flow& flow = registry_.get(platform, operation);
  Transaction tx(db_);
  store::Product product = products_.get(product_id);
  auto missing = flow.missing_fields(product);
  if (!missing.empty()) {
    std::string list;
    for (const auto& field : missing) list += (list.empty() ? "" : ", ") + field;
    throw AppError(ErrorCode::kIncomplete,
                   "product " + id_str(product_id) + " cannot be queued for " + operation + " on " +
                       platform + ": missing or invalid " + list,
                   json{{"missing_fields", missing}, {"product_id", product_id}});
  }

  std::optional<ListingRow> listing = check_can_start(flow, product_id);
  std::string now = now_iso();
  ListingRule rule = flow.listing_rule();
  if (!listing) {
    db_.exec(
        "INSERT INTO listings (product_id, platform, status, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?)",
        product_id, platform,
        store::to_string(rule.while_running.value_or(store::ListingStatus::kPending)), now, now);
    listing = ListingRow{db_.last_insert_id(), store::ListingStatus::kPending, "", ""};
  } else if (rule.while_running) {
    db_.exec("UPDATE listings SET status = ?, error_message = NULL, updated_at = ? WHERE id = ?",
             store::to_string(*rule.while_running), now, listing->id);
  }

  QueueRow queue;
  queue.platform = platform;
  queue.operation = operation;
  queue.product_id = product_id;
  queue.accumulated = json::object();
  queue.context = flow.initial_context(product, params);
  queue.position = next_position();
  db_.exec(
      "INSERT INTO plugin_queue (platform, operation, product_id, status, accumulated_data,"
      " context_data, position, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
      platform, queue.operation, product_id, queue.accumulated.dump(), queue.context.dump(),
      queue.position, now, now);
  queue.id = db_.last_insert_id();

  ListingState state = listing_state(queue);
  FlowState flow_state{product, state, queue.accumulated, queue.context};
  auto first = flow.next_step(flow_state);
  if (!first) throw std::logic_error(platform + " " + operation + " generated no first step");
  int64_t task_id = insert_step(queue, *first, flow.total_steps(flow_state));
  tx.commit();

  log::info("queued " + platform + " " + operation + " of product " + id_str(product_id) +
            " as queue " + id_str(queue.id) + ", first step " + first->step + " (task " +
            id_str(task_id) + ")");
  return {product_id, listing->id, queue.id, task_id,
          operation + " queued (queue #" + id_str(queue.id) + ", task #" + id_str(task_id) +
              "), waiting for the browser extension"};
}

int64_t Engine::enqueue_legacy(const LegacyTask& task) {
  Transaction tx(db_);
  int64_t position = next_position();
  db_.exec(
      "INSERT INTO plugin_tasks (queue_id, task_type, platform, http_method, path, body_kind,"
      " payload, status, max_retries, position, created_at)"
      " VALUES (NULL, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
      task.task_type, task.platform, task.http_method, task.path, to_string(task.body),
      task.payload.dump(), options_.max_retries, position, now_iso());
  int64_t id = db_.last_insert_id();
  tx.commit();
  return id;
}

// ---------------------------------------------------------------------- leases

// Platforms with work, found by skipping through the line indexes one
// platform at a time: a few lookups per platform, however long its line.
std::vector<std::string> Engine::active_platforms() {
  std::vector<std::string> platforms;
  auto next_after = [&](const char* sql, const std::string& after) -> std::optional<std::string> {
    auto q = db_.query(sql, after);
    if (!q.step()) return std::nullopt;
    return q.text(0);
  };
  for (const char* sql : {"SELECT platform FROM plugin_queue INDEXED BY plugin_queue_line"
                          " WHERE status IN ('queued', 'processing', 'paused') AND platform > ?"
                          " ORDER BY platform LIMIT 1",
                          "SELECT platform FROM plugin_tasks INDEXED BY plugin_tasks_legacy_line"
                          " WHERE queue_id IS NULL AND status = 'pending' AND platform > ?"
                          " ORDER BY platform LIMIT 1"}) {
    std::string after;
    while (auto platform = next_after(sql, after)) {
      platforms.push_back(*platform);
      after = *platform;
    }
  }
  std::sort(platforms.begin(), platforms.end());
  platforms.erase(std::unique(platforms.begin(), platforms.end()), platforms.end());
  return platforms;
}

// The step of `platform` that may be handed out now, if any. Strict FIFO: the
// oldest unfinished operation is the only candidate, so a step waiting for a
// retry (or a paused operation) holds back the later ones of its platform.
// Each query below is an index lookup (migration 4).
std::optional<int64_t> Engine::ready_task(const std::string& platform, int64_t now) {
  auto busy = db_.query(
      "SELECT 1 FROM plugin_tasks WHERE platform = ? AND status = 'processing' LIMIT 1", platform);
  if (busy.step()) return std::nullopt;

  auto queue_head = db_.query(
      "SELECT id, status, position FROM plugin_queue WHERE platform = ?"
      " AND status IN ('queued', 'processing', 'paused') ORDER BY position LIMIT 1",
      platform);
  auto legacy_head = db_.query(
      "SELECT id, available_at, position FROM plugin_tasks WHERE platform = ?"
      " AND queue_id IS NULL AND status = 'pending' ORDER BY position LIMIT 1",
      platform);
  bool has_queue = queue_head.step();
  bool has_legacy = legacy_head.step();
  if (has_legacy && (!has_queue || legacy_head.int64(2) < queue_head.int64(2))) {
    if (legacy_head.int64(1) > now) return std::nullopt;
    return legacy_head.int64(0);
  }
  if (!has_queue) return std::nullopt;
  int64_t queue_id = queue_head.int64(0);
  if (queue_head.text(1) == "paused") return std::nullopt;

  auto task = db_.query(
      "SELECT id, available_at FROM plugin_tasks WHERE queue_id = ?"
      " AND status = 'pending' ORDER BY id LIMIT 1",
      queue_id);
  if (!task.step()) {
    log::warn("queue " + id_str(queue_id) + " is active but has no pending step");
    return std::nullopt;
  }
  if (task.int64(1) > now) return std::nullopt;
  return task.int64(0);
}

json Engine::task_view(int64_t task_id) {
  auto q = db_.query(
      "SELECT t.id, t.queue_id, t.platform, COALESCE(q.operation, t.task_type), "
      " COALESCE(t.step, t.task_type), t.http_method, t.path, t.body_kind, t.payload,"
      " t.retry_count, t.max_retries, t.created_at, t.lease_expires_at, t.task_type, t.status"
      " FROM plugin_tasks t LEFT JOIN plugin_queue q ON q.id = t.queue_id WHERE t.id = ?",
      task_id);
  if (!q.step()) throw not_found("task " + id_str(task_id) + " does not exist");
  json view = {{"id", q.int64(0)},
               {"queue_id", q.is_null(1) ? json(nullptr) : json(q.int64(1))},
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

std::optional<json> Engine::lease_task(int64_t task_id, const std::string& owner, int64_t now) {
  std::string now_text = iso8601(now);
  db_.exec(
      "UPDATE plugin_tasks SET status = 'processing', lease_owner = ?, lease_expires_at = ?,"
      " started_at = ? WHERE id = ?",
      owner, now + options_.lease_ms, now_text, task_id);
  auto task = load_task(task_id);
  db_.exec(
      "INSERT INTO task_attempts (task_id, attempt, lease_owner, started_at) VALUES (?, ?, ?, ?)",
      task_id, task->retry_count + 1, owner, now_text);
  if (task->queue_id) {
    db_.exec(
        "UPDATE plugin_queue SET status = 'processing', current_step = ?, updated_at = ?"
        " WHERE id = ? AND status = 'queued'",
        task->step, now_text, *task->queue_id);
  }
  json view = task_view(task_id);
  size_t size = view.dump().size();
  if (size > kMaxTaskBytes) {
    // It could never reach the extension: retrying would only hold the platform.
    std::string why = "the step is " + std::to_string(size) +
                      " bytes, more than a browser message can carry; shorten the product's text";
    fail_attempt(*load_task(task_id), why, true);
    finish_attempt(task_id, "failure", std::nullopt, why, "", nullptr);
    return std::nullopt;
  }
  return view;
}

json Engine::lease_next_of(const std::string& platform, const std::string& owner) {
  int64_t now = now_ms();
  auto task_id = ready_task(platform, now);
  if (!task_id) return nullptr;
  auto view = lease_task(*task_id, owner, now);
  if (!view) return nullptr;
  log::info("leased task " + id_str(*task_id) + " (" + platform + ") to " + owner +
            " with the previous result");
  return *view;
}

json Engine::lease(const std::string& owner, int limit, Held held_mode) {
  int64_t now = now_ms();
  Transaction tx(db_);
  // Callers without an event loop (the HTTP API) rely on this to free a
  // platform whose step was never answered.
  expire_leases_locked(now);
  // An expired step becomes available at the clock reading taken while it
  // was expired, which may be later than `now`; read the clock again so it can
  // be handed out in this same call.
  now = now_ms();
  json tasks = json::array();
  if (held_mode == Held::kListedAgain) {
    // At most one step per platform: sorting them here costs nothing.
    auto held = db_.query(
        "SELECT position, id FROM plugin_tasks WHERE status = 'processing' AND lease_owner = ?"
        " AND lease_expires_at > ?",
        owner, now);
    std::vector<std::pair<int64_t, int64_t>> held_ids;
    while (held.step()) held_ids.emplace_back(held.int64(0), held.int64(1));
    std::sort(held_ids.begin(), held_ids.end());
    for (auto [position, id] : held_ids) {
      if (static_cast<int>(tasks.size()) >= limit) break;
      tasks.push_back(task_view(id));
    }
  }
  for (const auto& platform : active_platforms()) {
    if (static_cast<int>(tasks.size()) >= limit) break;
    if (auto task_id = ready_task(platform, now)) {
      if (auto view = lease_task(*task_id, owner, now)) {
        tasks.push_back(*view);
        log::info("leased task " + id_str(*task_id) + " (" + platform + ") to " + owner);
      }
    }
  }
  tx.commit();
  return tasks;
}

// --------------------------------------------------------------------- results

Engine::Outcome Engine::classify(const TaskRow& task, const TaskReport& report) {
  using Kind = Outcome::Kind;
  int status = report.http_status.value_or(report.success ? 200 : 0);
  bool http_ok = status >= 200 && status < 300;
  if (report.success && http_ok) return {Kind::kSuccess, "", 0};

  std::string kind = report.error_kind.value_or("");
  std::string message = report.error_message.value_or("");
  if (message.empty()) {
    message = status > 0 ? "HTTP " + std::to_string(status) : "the step failed";
  }
  const Flow* flow = registry_.find_platform(task.platform);
  if (kind.empty() || kind == "http") {
    FailureKind platform_kind =
        flow ? flow->classify_failure(status, report.result) : FailureKind::kRetry;
    switch (platform_kind) {
      case FailureKind::kSessionExpired:
        kind = "session_expired";
        break;
      case FailureKind::kChallenge:
        kind = "challenge";
        break;
      case FailureKind::kRateLimited:
        kind = "rate_limited";
        break;
      case FailureKind::kRetry:
        break;
    }
  }
  if (kind == "session_expired") {
    return {
        Kind::kPause,
        "session expired on " + task.platform + ": log in again in the browser (" + message + ")",
        0};
  }
  if (kind == "challenge") {
    return {Kind::kPause,
            task.platform +
                " asked for a bot check: open the site in the browser, complete it,"
                " then resume (" +
                message + ")",
            0};
  }
  if (kind == "rate_limited") {
    double seconds = std::min(report.retry_after_seconds.value_or(-1), kMaxRetryAfterSeconds);
    int64_t delay = seconds >= 0 ? static_cast<int64_t>(std::ceil(seconds * 1000))
                                 : options_.default_rate_limit_ms;
    return {Kind::kDelay, "rate limited by " + task.platform + ": " + message, delay};
  }
  // The executor refused the request before sending it: the same step would
  // be refused again, so retrying only wastes the seller's time.
  if (kind == "refused") return {Kind::kFatal, "refused by the extension: " + message, 0};
  return {Kind::kFailure, message, 0};
}

void Engine::finish_attempt(int64_t task_id, const std::string& outcome,
                            std::optional<int> http_status, const std::string& error,
                            const std::string& fingerprint, const json& response) {
  db_.exec(
      "UPDATE task_attempts SET finished_at = ?, outcome = ?, http_status = ?, error_message = ?,"
      " request_hash = ?, response = ? WHERE id = (SELECT MAX(id) FROM task_attempts"
      " WHERE task_id = ?)",
      now_iso(), outcome,
      http_status.has_value() ? std::optional<int64_t>(*http_status) : std::nullopt,
      error.empty() ? std::optional<std::string>() : std::optional<std::string>(error),
      fingerprint.empty() ? std::optional<std::string>() : std::optional<std::string>(fingerprint),
      response.is_null() ? std::optional<std::string>()
                         : std::optional<std::string>(response.dump()),
      task_id);
}

json Engine::advance(const TaskRow& task, const json& body) {
  std::string now = now_iso();
  auto finish_task = [&] {
    db_.exec(
        "UPDATE plugin_tasks SET status = 'success', result = ?, error_message = NULL,"
        " lease_owner = NULL, lease_expires_at = NULL, completed_at = ? WHERE id = ?",
        body.dump(), now, task.id);
  };
  json response = {{"success", true},
                   {"task_id", task.id},
                   {"status", "success"},
                   {"next_task_id", nullptr},
                   {"queue_status", nullptr},
                   {"message", "Task " + id_str(task.id) + " completed successfully"}};
  if (!task.queue_id) {
    finish_task();
    return response;
  }

  QueueRow queue = require_queue(*task.queue_id);
  const Flow& flow = registry_.get(queue.platform, queue.operation);
  json accumulated = flow.accumulate(task.step, body, queue.accumulated);
  auto product = queue.product_id ? products_.find(*queue.product_id) : std::nullopt;
  if (!product) throw ResponseError("product " + id_str(queue.product_id.value_or(0)) + " is gone");
  ListingState listing = listing_state(queue);
  finish_task();
  queue.accumulated = accumulated;
  db_.exec(
      "UPDATE plugin_queue SET accumulated_data = ?, error_message = NULL, updated_at = ?"
      " WHERE id = ?",
      accumulated.dump(), now, queue.id);

  FlowState state{*product, listing, accumulated, queue.context};
  auto next = flow.next_step(state);
  if (next) {
    int64_t next_id = insert_step(queue, *next, flow.total_steps(state));
    db_.exec("UPDATE plugin_queue SET status = 'processing' WHERE id = ?", queue.id);
    response["next_task_id"] = next_id;
    response["queue_status"] = "processing";
    return response;
  }
  std::optional<ListingOutcome> outcome = flow.outcome(state);
  db_.exec(
      "UPDATE plugin_queue SET status = 'completed', current_step = NULL, updated_at = ?"
      " WHERE id = ?",
      now, queue.id);
  apply_listing_rule(queue, flow.listing_rule().on_success, "", outcome ? &*outcome : nullptr);
  response["queue_status"] = "completed";
  log::info("queue " + id_str(queue.id) + " completed: " + queue.platform + " " + queue.operation +
            (outcome ? " " + outcome->remote_id + " " + outcome->url : ""));
  return response;
}

json Engine::fail_attempt(const TaskRow& task, const std::string& message, bool final_now) {
  int retries = final_now ? task.max_retries : task.retry_count + 1;
  bool exhausted = retries >= task.max_retries;
  std::string now = now_iso();
  json response = {{"success", false}, {"task_id", task.id}};
  if (exhausted) {
    db_.exec(
        "UPDATE plugin_tasks SET status = 'failed', retry_count = ?, error_message = ?,"
        " lease_owner = NULL, lease_expires_at = NULL, completed_at = ? WHERE id = ?",
        retries, message, now, task.id);
    response["status"] = "failed";
    response["next_task_id"] = nullptr;
    response["message"] = "Task " + id_str(task.id) + " failed after " + std::to_string(retries) +
                          " attempt(s): " + message;
  } else {
    int64_t backoff = options_.retry_delay_ms * (int64_t{1} << std::min(retries - 1, 10));
    db_.exec(
        "UPDATE plugin_tasks SET status = 'pending', retry_count = ?, error_message = ?,"
        " lease_owner = NULL, lease_expires_at = NULL, available_at = ? WHERE id = ?",
        retries, message, now_ms() + backoff, task.id);
    response["status"] = "pending";
    response["next_task_id"] = task.id;
    response["message"] = "Task " + id_str(task.id) + " failed (attempt " +
                          std::to_string(retries) + "/" + std::to_string(task.max_retries) +
                          "), it will be retried: " + message;
  }
  response["queue_status"] = nullptr;
  if (!task.queue_id) return response;

  QueueRow queue = require_queue(*task.queue_id);
  if (exhausted) {
    db_.exec(
        "UPDATE plugin_queue SET status = 'failed', error_message = ?, updated_at = ? WHERE id = ?",
        message, now, queue.id);
    apply_listing_rule(queue, failure_status(queue), message, nullptr);
    response["queue_status"] = "failed";
    log::warn("queue " + id_str(queue.id) + " failed at " + task.step + ": " + message);
  } else {
    db_.exec("UPDATE plugin_queue SET error_message = ?, updated_at = ? WHERE id = ?", message, now,
             queue.id);
    response["queue_status"] = queue.status == "queued" ? "processing" : queue.status;
  }
  return response;
}

json Engine::pause(const TaskRow& task, const std::string& reason) {
  std::string now = now_iso();
  db_.exec(
      "UPDATE plugin_tasks SET status = 'pending', error_message = ?, lease_owner = NULL,"
      " lease_expires_at = NULL WHERE id = ?",
      reason, task.id);
  json response = {
      {"success", false},        {"task_id", task.id},
      {"status", "pending"},     {"next_task_id", task.id},
      {"queue_status", nullptr}, {"message", "Task " + id_str(task.id) + " paused: " + reason}};
  if (task.queue_id) {
    db_.exec(
        "UPDATE plugin_queue SET status = 'paused', paused_reason = ?, updated_at = ? WHERE id = ?",
        reason, now, *task.queue_id);
    response["queue_status"] = "paused";
    log::warn("queue " + id_str(*task.queue_id) + " paused: " + reason);
  }
  return response;
}

json Engine::delay(const TaskRow& task, int64_t delay_ms, const std::string& message) {
  db_.exec(
      "UPDATE plugin_tasks SET status = 'pending', error_message = ?, lease_owner = NULL,"
      " lease_expires_at = NULL, available_at = ? WHERE id = ?",
      message, now_ms() + delay_ms, task.id);
  return {{"success", false},
          {"task_id", task.id},
          {"status", "pending"},
          {"next_task_id", task.id},
          {"queue_status", task.queue_id ? json("processing") : json(nullptr)},
          {"retry_in_ms", delay_ms},
          {"message", "Task " + id_str(task.id) + " will be retried in " +
                          std::to_string((delay_ms + 999) / 1000) + " s: " + message}};
}

json Engine::apply(const TaskRow& task, const Outcome& outcome, const json& body) {
  using Kind = Outcome::Kind;
  switch (outcome.kind) {
    case Kind::kSuccess:
      try {
        return advance(task, body);
      } catch (const ResponseError& e) {
        return fail_attempt(task, e.what(), false);
      }
    case Kind::kFailure:
      return fail_attempt(task, outcome.message, false);
    case Kind::kFatal:
      return fail_attempt(task, outcome.message, true);
    // A legacy task has no queue to pause: waiting for the seller would hand
    // it out again at once, so it uses up attempts like any failure.
    case Kind::kPause:
      return task.queue_id ? pause(task, outcome.message)
                           : fail_attempt(task, outcome.message, false);
    case Kind::kDelay:
      return delay(task, outcome.delay_ms, outcome.message);
  }
  throw std::logic_error("unhandled outcome");
}

json Engine::report(const std::string& owner, const TaskReport& report) {
  Transaction tx(db_);
  auto task = load_task(report.task_id);
  if (!task) throw not_found("task " + id_str(report.task_id) + " does not exist");

  // A report already applied is answered as it was and never applied twice.
  // While the step is held by this connection a report is taken as new,
  // unless it names an earlier hand-out (attempt) and was seen before: the
  // seed's clients resend identical failures for each attempt on purpose.
  bool held_by_caller = task->status == "processing" && task->lease_owner == owner;
  bool earlier_attempt = report.attempt && *report.attempt != task->retry_count + 1;
  if (!held_by_caller || earlier_attempt) {
    auto prior = db_.query(
        "SELECT response FROM task_attempts WHERE task_id = ? AND request_hash = ?"
        " AND response IS NOT NULL ORDER BY attempt DESC, id DESC LIMIT 1",
        task->id, report.fingerprint);
    if (prior.step()) return json::parse(prior.text(0));
  }

  // A new report from the lease holder is applied, even one made for an
  // earlier hand-out of the same step: the work it reports was done.
  if (held_by_caller && task->lease_expires_at.value_or(0) <= now_ms()) {
    lose_lease(*task, "the lease expired before the result arrived");
    tx.commit();
    throw AppError(ErrorCode::kNotInFlight,
                   "task " + id_str(task->id) + " is no longer in flight: its lease expired",
                   json{{"task_id", task->id}});
  }
  if (!held_by_caller) {
    std::string why = task->status == "processing" ? "it is leased to another connection"
                      : task->status == "pending"  ? "it is waiting to be handed out"
                                                   : "it already ended as " + task->status;
    throw AppError(ErrorCode::kNotInFlight,
                   "task " + id_str(task->id) + " is not in flight for this connection: " + why,
                   json{{"task_id", task->id}, {"status", task->status}});
  }

  Outcome outcome = classify(*task, report);
  json body = report.result.is_null() ? json::object() : report.result;
  json response = apply(*task, outcome, body);
  static const char* kNames[] = {"success", "failure", "failure", "paused", "delayed"};
  std::string error = outcome.kind == Outcome::Kind::kSuccess ? std::string() : outcome.message;
  if (response["status"] == "pending" && outcome.kind == Outcome::Kind::kSuccess) {
    error = response["message"];  // an unreadable success counts as a failure
  }
  // Stored without `next_task`: a repeated report must not hand out again a
  // step that may have finished since; its sender lists tasks instead.
  finish_attempt(task->id, kNames[static_cast<int>(outcome.kind)], report.http_status, error,
                 report.fingerprint, response);
  if (report.lease_next) response["next_task"] = lease_next_of(task->platform, owner);
  tx.commit();
  return response;
}

// --------------------------------------------------------- lease loss recovery

// A lost lease counts as a failed attempt: a step that kills its executor
// every time must end failed after max_retries instead of looping forever.
void Engine::lose_lease(const TaskRow& task, const std::string& reason) {
  log::warn("task " + id_str(task.id) + " lost its lease: " + reason);
  fail_attempt(task, "lease lost: " + reason, false);
  finish_attempt(task.id, "lease_lost", std::nullopt, reason, "", nullptr);
}

int Engine::release_owner(const std::string& owner, const std::string& reason) {
  Transaction tx(db_);
  std::vector<int64_t> ids;
  auto q = db_.query("SELECT id FROM plugin_tasks WHERE status = 'processing' AND lease_owner = ?",
                     owner);
  while (q.step()) ids.push_back(q.int64(0));
  for (int64_t id : ids) lose_lease(*load_task(id), reason);
  tx.commit();
  return static_cast<int>(ids.size());
}

int Engine::expire_leases_locked(int64_t now) {
  std::vector<int64_t> ids;
  // Two range reads of the leased index; an OR would read the whole table.
  auto q = db_.query(
      "SELECT id FROM plugin_tasks WHERE status = 'processing' AND lease_expires_at <= ?"
      " UNION ALL SELECT id FROM plugin_tasks WHERE status = 'processing'"
      " AND lease_expires_at IS NULL",
      now);
  while (q.step()) ids.push_back(q.int64(0));
  for (int64_t id : ids) {
    lose_lease(*load_task(id),
               "no result within " + std::to_string(options_.lease_ms / 1000) + " s");
  }
  return static_cast<int>(ids.size());
}

int Engine::expire_leases() {
  Transaction tx(db_);
  int expired = expire_leases_locked(now_ms());
  tx.commit();
  return expired;
}

std::vector<std::string> Engine::foreign_owners(const std::string& self) {
  std::vector<std::string> owners;
  auto q = db_.query(
      "SELECT DISTINCT lease_owner FROM plugin_tasks WHERE status = 'processing'"
      " AND lease_owner IS NOT NULL AND lease_owner != ?",
      self);
  while (q.step()) owners.push_back(q.text(0));
  return owners;
}

int Engine::recover_dead_owners(const std::string& self,
                                const std::function<bool(const std::string&)>& is_alive) {
  int released = 0;
  for (const auto& owner : foreign_owners(self)) {
    if (!is_alive(owner)) released += release_owner(owner, "the host process holding it is gone");
  }
  return released;
}

std::vector<std::string> Engine::ready_platforms() {
  int64_t now = now_ms();
  std::vector<std::string> ready;
  for (const auto& platform : active_platforms()) {
    if (ready_task(platform, now)) ready.push_back(platform);
  }
  return ready;
}

std::optional<int64_t> Engine::next_deadline_ms() {
  // Two MIN() lookups on partial indexes (migration 4).
  std::optional<int64_t> earliest;
  auto lease =
      db_.query("SELECT MIN(lease_expires_at) FROM plugin_tasks WHERE status = 'processing'");
  if (lease.step() && !lease.is_null(0)) earliest = lease.int64(0);
  auto retry = db_.query(
      "SELECT MIN(available_at) FROM plugin_tasks WHERE status = 'pending' AND available_at > ?",
      now_ms());
  if (retry.step() && !retry.is_null(0)) {
    earliest = std::min(earliest.value_or(INT64_MAX), retry.int64(0));
  }
  return earliest;
}

// ------------------------------------------------------------- seller actions

json Engine::retry_queue(int64_t queue_id) {
  Transaction tx(db_);
  QueueRow queue = require_queue(queue_id);
  if (queue.status == "paused") {
    resume_locked(queue);
    tx.commit();
    return this->queue(queue_id, false);
  }
  if (queue.status != "failed" && queue.status != "cancelled") {
    throw AppError(ErrorCode::kWrongState,
                   "queue " + id_str(queue_id) + " is " + queue.status +
                       "; only failed, cancelled or paused queues can be retried",
                   json{{"status", queue.status}});
  }
  const Flow& flow = registry_.get(queue.platform, queue.operation);
  store::Product product = products_.get(queue.product_id.value_or(0));
  check_can_start(flow, product.id);
  auto missing = flow.missing_fields(product);
  if (!missing.empty()) {
    throw AppError(ErrorCode::kIncomplete, "the product is missing fields for " + queue.platform,
                   json{{"missing_fields", missing}});
  }
  ListingState listing = listing_state(queue);
  FlowState state{product, listing, queue.accumulated, queue.context};
  auto step = flow.next_step(state);
  if (!step) throw wrong_state("queue " + id_str(queue_id) + " has no step left to run");
  // A retry is a new request from the seller: it joins the back of the line.
  queue.position = next_position();
  db_.exec(
      "UPDATE plugin_queue SET status = 'queued', error_message = NULL, paused_reason = NULL,"
      " retry_count = retry_count + 1, position = ?, updated_at = ? WHERE id = ?",
      queue.position, now_iso(), queue_id);
  insert_step(queue, *step, flow.total_steps(state));
  if (auto running = flow.listing_rule().while_running) {
    apply_listing_rule(queue, running, "", nullptr);
  }
  tx.commit();
  return this->queue(queue_id, false);
}

json Engine::resume_queue(int64_t queue_id) {
  Transaction tx(db_);
  QueueRow queue = require_queue(queue_id);
  if (queue.status != "paused") {
    throw AppError(ErrorCode::kWrongState,
                   "queue " + id_str(queue_id) + " is " + queue.status + ", not paused",
                   json{{"status", queue.status}});
  }
  resume_locked(queue);
  tx.commit();
  return this->queue(queue_id, false);
}

void Engine::resume_locked(const QueueRow& queue) {
  auto done = db_.query(
      "SELECT COUNT(*) FROM plugin_tasks WHERE queue_id = ? AND status = 'success'", queue.id);
  done.step();
  db_.exec("UPDATE plugin_queue SET status = ?, paused_reason = NULL, updated_at = ? WHERE id = ?",
           done.int64(0) > 0 ? "processing" : "queued", now_iso(), queue.id);
  db_.exec("UPDATE plugin_tasks SET available_at = 0 WHERE queue_id = ? AND status = 'pending'",
           queue.id);
}

json Engine::cancel_queue(int64_t queue_id) {
  Transaction tx(db_);
  QueueRow queue = require_queue(queue_id);
  if (queue.status != "queued" && queue.status != "processing" && queue.status != "paused") {
    throw AppError(ErrorCode::kWrongState,
                   "queue " + id_str(queue_id) + " is already " + queue.status,
                   json{{"status", queue.status}});
  }
  std::string now = now_iso();
  const std::string reason = "cancelled by the seller";
  db_.exec(
      "UPDATE plugin_tasks SET status = 'failed', error_message = ?, lease_owner = NULL,"
      " lease_expires_at = NULL, completed_at = ? WHERE queue_id = ?"
      " AND status IN ('pending', 'processing')",
      reason, now, queue_id);
  db_.exec(
      "UPDATE plugin_queue SET status = 'cancelled', error_message = ?, paused_reason = NULL,"
      " updated_at = ? WHERE id = ?",
      reason, now, queue_id);
  apply_listing_rule(queue, failure_status(queue), reason, nullptr);
  tx.commit();
  return this->queue(queue_id, false);
}

// ---------------------------------------------------------------------- views

namespace {

// The columns of a queue's view and its row reader, side by side: the list
// and the single queue are the same query, one row per queue, with the
// product's title and the count of finished steps joined in.
constexpr const char* kQueueViewSelect =
    "SELECT q.id, q.platform, q.operation, q.product_id, q.status, q.current_step,"
    " q.accumulated_data, q.context_data, q.error_message, q.paused_reason, q.retry_count,"
    " q.created_at, q.updated_at, q.total_steps, p.title,"
    " (SELECT COUNT(*) FROM plugin_tasks t WHERE t.queue_id = q.id AND t.status = 'success')"
    " FROM plugin_queue q LEFT JOIN products p ON p.id = q.product_id";

json optional_text(const store::Statement& q, int column) {
  return q.is_null(column) ? json(nullptr) : json(q.text(column));
}

json queue_view(const store::Statement& q) {
  json view = {{"id", q.int64(0)},
               {"platform", q.text(1)},
               {"operation", q.text(2)},
               {"product_id", q.is_null(3) ? json(nullptr) : json(q.int64(3))},
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
                      {"total", q.is_null(13) ? json(nullptr) : json(q.int64(13))},
                      {"current_step", view["current_step"]}};
  return view;
}

}  // namespace

// Queues written before migration 5 carry no total: the flow counts it.
void Engine::fill_missing_total(json& view) {
  if (!view["progress"]["total"].is_null() || !view["product_id"].is_number()) return;
  const Flow* flow = registry_.find(view["platform"], view["operation"]);
  auto product = products_.find(view["product_id"]);
  if (!flow || !product) return;
  QueueRow row = require_queue(view["id"]);
  ListingState listing = listing_state(row);
  view["progress"]["total"] = flow->total_steps({*product, listing, row.accumulated, row.context});
}

json Engine::queue(int64_t queue_id, bool with_tasks) {
  auto q = db_.query(std::string(kQueueViewSelect) + " WHERE q.id = ?", queue_id);
  if (!q.step()) throw not_found("queue " + id_str(queue_id) + " does not exist");
  json view = queue_view(q);
  fill_missing_total(view);

  if (with_tasks) {
    json tasks = json::array();
    auto t = db_.query(
        "SELECT id, step, status, http_method, path, body_kind, payload, result, error_message,"
        " retry_count, max_retries, created_at, started_at, completed_at, lease_expires_at"
        " FROM plugin_tasks WHERE queue_id = ? ORDER BY id",
        queue_id);
    while (t.step()) {
      json task = {{"id", t.int64(0)},
                   {"step", t.text(1)},
                   {"status", t.text(2)},
                   {"http_method", t.text(3)},
                   {"path", t.text(4)},
                   {"body", t.text(5)},
                   {"payload", json::parse(t.text(6))},
                   {"result", parse_or_null(t.optional_text(7))},
                   {"error_message", optional_text(t, 8)},
                   {"retry_count", t.int64(9)},
                   {"max_retries", t.int64(10)},
                   {"created_at", t.text(11)},
                   {"started_at", optional_text(t, 12)},
                   {"completed_at", optional_text(t, 13)}};
      if (!t.is_null(14)) task["lease_expires_at"] = iso8601(t.int64(14));
      tasks.push_back(task);
    }
    view["tasks"] = tasks;
  }
  return view;
}

json Engine::queues(const QueueFilter& filter) {
  if (filter.status && !store::parse_queue_status(*filter.status)) {
    throw invalid_params("unknown queue status \"" + *filter.status + "\" (" +
                         store::queue_status_names() + ")");
  }
  auto q =
      db_.query(std::string(kQueueViewSelect) +
                    " WHERE (?1 IS NULL OR q.status = ?1) AND (?2 IS NULL OR q.platform = ?2)"
                    " AND (?3 IS NULL OR q.product_id = ?3) AND (?5 IS NULL OR q.id < ?5)"
                    " ORDER BY q.id DESC LIMIT ?4",
                filter.status, filter.platform, filter.product_id, filter.limit, filter.before_id);
  json out = json::array();
  while (q.step()) out.push_back(queue_view(q));
  for (auto& view : out) fill_missing_total(view);
  return out;
}

json Engine::listings(const ListingFilter& filter) {
  if (filter.status && !store::parse_listing_status(*filter.status)) {
    throw invalid_params("unknown listing status \"" + *filter.status + "\" (" +
                         store::listing_status_names() + ")");
  }
  auto q = db_.query(
      "SELECT id, product_id, platform, status, remote_id, url, error_message, created_at,"
      " updated_at, published_at FROM listings WHERE id > ?1 AND (?2 IS NULL OR product_id = ?2)"
      " AND (?3 IS NULL OR platform = ?3) AND (?4 IS NULL OR status = ?4) ORDER BY id LIMIT ?5",
      filter.after_id, filter.product_id, filter.platform, filter.status, filter.limit);
  json out = json::array();
  while (q.step()) {
    out.push_back({{"id", q.int64(0)},
                   {"product_id", q.int64(1)},
                   {"platform", q.text(2)},
                   {"status", q.text(3)},
                   {"remote_id", q.is_null(4) ? json(nullptr) : json(q.text(4))},
                   {"url", q.is_null(5) ? json(nullptr) : json(q.text(5))},
                   {"error_message", q.is_null(6) ? json(nullptr) : json(q.text(6))},
                   {"created_at", q.text(7)},
                   {"updated_at", q.text(8)},
                   {"published_at", q.is_null(9) ? json(nullptr) : json(q.text(9))}});
  }
  return out;
}

}  // namespace stoflow::workflow
