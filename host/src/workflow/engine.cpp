#include "workflow/engine.h"

#include <algorithm>
#include <cmath>

#include "store/statuses.h"
#include "util/clock.h"
#include "util/errors.h"
#include "util/log.h"

namespace stoflow::workflow {

using nlohmann::json;
using store::QueueStatus;
using store::TaskStatus;
using store::Transaction;

namespace {

std::string id_str(int64_t id) {
  return std::to_string(id);
}

std::string listing_words(const std::optional<store::ListingStatus>& status) {
  return status ? std::string(store::to_string(*status)) : std::string("not listed");
}

std::optional<std::string> unless_empty(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

// An attempt that ended without a report.
store::AttemptEnd ended(const std::string& outcome, const std::string& why) {
  return {outcome, std::nullopt, why, std::nullopt, std::nullopt};
}

}  // namespace

struct Engine::Outcome {
  enum class Kind { kSuccess, kFailure, kFatal, kPause, kDelay } kind = Kind::kFailure;
  std::string message;
  int64_t delay_ms = 0;
};

Engine::Engine(store::Database& db, store::ProductStore& products, const Registry& registry,
               EngineOptions options)
    : db_(db),
      products_(products),
      tasks_(db),
      queues_(db),
      listings_(db),
      views_(db),
      registry_(registry),
      options_(options) {}

int64_t Engine::insert_step(const Queue& queue, const StepSpec& step) {
  return tasks_.insert({.queue_id = queue.id,
                        .platform = queue.platform,
                        .step = step.step,
                        .task_type = std::nullopt,
                        .http_method = step.http_method,
                        .path = step.path,
                        .body_kind = to_string(step.body),
                        .payload = step.payload.dump(),
                        .max_retries = options_.max_retries,
                        .position = queue.position},
                       now_iso());
}

// --------------------------------------------------------------------- listings

ListingState Engine::listing_state(const Queue& queue) {
  ListingState state;
  if (!queue.product_id) return state;
  if (auto row = listings_.find(*queue.product_id, queue.platform)) {
    state.status = row->status;
    state.remote_id = row->remote_id;
    state.url = row->url;
  }
  return state;
}

// An operation starts only from a listing state its flow names (a product is
// never published twice, only a published listing is updated or deleted), and
// never while another operation of the product on the platform is under way.
std::optional<store::ListingRecord> Engine::check_can_start(const Flow& flow, int64_t product_id) {
  std::string platform = flow.platform();
  auto listing = listings_.find(product_id, platform);
  std::optional<store::ListingStatus> current;
  if (listing) current = listing->status;
  if (auto active = queues_.active_for(product_id, platform)) {
    throw AppError(ErrorCode::kWrongState,
                   "product " + id_str(product_id) + " is already queued for " + platform + " (" +
                       active->operation + ", queue " + id_str(active->id) + ")",
                   json{{"queue_id", active->id}});
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

// A queue whose flow is no longer known (a platform removed) fails its listing.
std::optional<store::ListingStatus> Engine::failure_status(const Queue& queue) const {
  const Flow* flow = registry_.find(queue.platform, queue.operation);
  return flow ? flow->listing_rule().on_failure : store::ListingStatus::kFailed;
}

void Engine::fail_listing(const Queue& queue, const std::string& error) {
  if (!queue.product_id) return;
  listings_.fail(*queue.product_id, queue.platform, failure_status(queue), error, now_iso());
}

// --------------------------------------------------------------------- enqueue

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

  std::optional<store::ListingRecord> listing = check_can_start(flow, product_id);
  std::string now = now_iso();
  ListingRule rule = flow.listing_rule();
  if (!listing) {
    listing = listings_.insert(product_id, platform,
                               rule.while_running.value_or(store::ListingStatus::kPending), now);
  } else if (rule.while_running) {
    listings_.set_running(listing->id, *rule.while_running, now);
  }

  Queue queue;
  queue.platform = platform;
  queue.operation = operation;
  queue.product_id = product_id;
  queue.context = flow.initial_context(product, params);
  queue.position = queues_.next_position();
  queue = queues_.insert(std::move(queue), now);

  ListingState state = listing_state(queue);
  FlowState flow_state{product, state, queue.accumulated, queue.context};
  auto first = flow.next_step(flow_state);
  if (!first) throw std::logic_error(platform + " " + operation + " generated no first step");
  int64_t task_id = insert_step(queue, *first);
  queues_.set_step(queue.id, {first->step, flow.total_steps(flow_state)}, now);
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
  int64_t id = tasks_.insert({.queue_id = std::nullopt,
                              .platform = task.platform,
                              .step = std::nullopt,
                              .task_type = task.task_type,
                              .http_method = task.http_method,
                              .path = task.path,
                              .body_kind = to_string(task.body),
                              .payload = task.payload.dump(),
                              .max_retries = options_.max_retries,
                              .position = queues_.next_position()},
                             now_iso());
  tx.commit();
  return id;
}

// ---------------------------------------------------------------------- leases

// Platforms with work, found by skipping through the line indexes one
// platform at a time: a few lookups per platform, however long its line.
std::vector<std::string> Engine::active_platforms() {
  std::vector<std::string> platforms;
  for (auto next = queues_.active_platform_after(""); next;
       next = queues_.active_platform_after(*next)) {
    platforms.push_back(*next);
  }
  for (auto next = tasks_.legacy_platform_after(""); next;
       next = tasks_.legacy_platform_after(*next)) {
    platforms.push_back(*next);
  }
  std::sort(platforms.begin(), platforms.end());
  platforms.erase(std::unique(platforms.begin(), platforms.end()), platforms.end());
  return platforms;
}

// The step of `platform` that may be handed out now, if any. Strict FIFO: the
// oldest unfinished operation is the only candidate, so a step waiting for a
// retry (or a paused operation) holds back the later ones of its platform.
std::optional<Engine::ReadyStep> Engine::ready_task(const std::string& platform, int64_t now) {
  if (tasks_.platform_busy(platform)) return std::nullopt;
  auto queue_head = queues_.line_head(platform);
  auto legacy_head = tasks_.legacy_head(platform);
  if (legacy_head && (!queue_head || legacy_head->position < queue_head->position)) {
    if (legacy_head->available_at > now) return std::nullopt;
    return ReadyStep{legacy_head->id, std::nullopt};
  }
  if (!queue_head || queue_head->status == QueueStatus::kPaused) return std::nullopt;
  auto task = tasks_.first_pending(queue_head->id);
  if (!task) {
    log::warn("queue " + id_str(queue_head->id) + " is active but has no pending step");
    return std::nullopt;
  }
  if (task->available_at > now) return std::nullopt;
  return ReadyStep{task->id, queue_head->status};
}

std::optional<json> Engine::lease_task(const ReadyStep& ready, const std::string& owner,
                                       int64_t now) {
  std::string now_text = iso8601(now);
  Task task = tasks_.lease(ready.task_id, owner, now + options_.lease_ms, now);
  tasks_.open_attempt(task.id, task.attempt(), owner, now_text);
  if (task.queue_id && ready.queue_status == QueueStatus::kQueued) {
    queues_.start(*task.queue_id, task.step, now_text);
  }
  json view = *views_.handout(task.id);
  size_t size = view.dump().size();
  if (size > kMaxTaskBytes) {
    // It could never reach the extension: retrying would only hold the platform.
    std::string why = "the step is " + std::to_string(size) +
                      " bytes, more than a browser message can carry; shorten the product's text";
    fail_attempt(task, why, true);
    tasks_.close_attempt(task.id, ended("failure", why), now_iso());
    return std::nullopt;
  }
  return view;
}

json Engine::lease_next_of(const std::string& platform, const std::string& owner) {
  int64_t now = now_ms();
  auto ready = ready_task(platform, now);
  if (!ready) return nullptr;
  auto view = lease_task(*ready, owner, now);
  if (!view) return nullptr;
  log::info("leased task " + id_str(ready->task_id) + " (" + platform + ") to " + owner +
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
    for (int64_t id : tasks_.held_by(owner, now)) {
      if (static_cast<int>(tasks.size()) >= limit) break;
      tasks.push_back(*views_.handout(id));
    }
  }
  for (const auto& platform : active_platforms()) {
    if (static_cast<int>(tasks.size()) >= limit) break;
    if (auto ready = ready_task(platform, now)) {
      if (auto view = lease_task(*ready, owner, now)) {
        tasks.push_back(*view);
        log::info("leased task " + id_str(ready->task_id) + " (" + platform + ") to " + owner);
      }
    }
  }
  tx.commit();
  return tasks;
}

// --------------------------------------------------------------------- results

Engine::Outcome Engine::classify(const Task& task, const TaskReport& report) {
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

json Engine::advance(const Task& task, const json& body) {
  std::string now = now_iso();
  json response = {{"success", true},
                   {"task_id", task.id},
                   {"status", "success"},
                   {"next_task_id", nullptr},
                   {"queue_status", nullptr},
                   {"message", "Task " + id_str(task.id) + " completed successfully"}};
  if (!task.queue_id) {
    tasks_.succeed(task, body.dump(), now);
    return response;
  }

  // Everything the flow decides is worked out before anything is written: a
  // response it cannot use (ResponseError) leaves the step in flight, to be
  // counted as a failed attempt.
  Queue queue = queues_.get(*task.queue_id);
  const Flow& flow = registry_.get(queue.platform, queue.operation);
  json accumulated = flow.accumulate(task.step, body, queue.accumulated);
  auto product = queue.product_id ? products_.find(*queue.product_id) : std::nullopt;
  if (!product) throw ResponseError("product " + id_str(queue.product_id.value_or(0)) + " is gone");
  ListingState listing = listing_state(queue);
  FlowState state{*product, listing, accumulated, queue.context};
  auto next = flow.next_step(state);
  std::optional<ListingOutcome> outcome = next ? std::nullopt : flow.outcome(state);
  int total_steps = next ? flow.total_steps(state) : 0;

  tasks_.succeed(task, body.dump(), now);
  if (next) {
    int64_t next_id = insert_step(queue, *next);
    queues_.advance(queue.id, accumulated, {next->step, total_steps}, now);
    response["next_task_id"] = next_id;
    response["queue_status"] = "processing";
    return response;
  }
  queues_.complete(queue.id, accumulated, now);
  std::optional<store::RemoteListing> remote;
  if (outcome) remote = store::RemoteListing{outcome->remote_id, outcome->url};
  if (queue.product_id) {
    listings_.succeed(*queue.product_id, queue.platform, flow.listing_rule().on_success, remote,
                      now);
  }
  response["queue_status"] = "completed";
  log::info("queue " + id_str(queue.id) + " completed: " + queue.platform + " " + queue.operation +
            (outcome ? " " + outcome->remote_id + " " + outcome->url : ""));
  return response;
}

json Engine::fail_attempt(const Task& task, const std::string& message, bool final_now) {
  int retries = final_now ? task.max_retries : task.retry_count + 1;
  bool exhausted = retries >= task.max_retries;
  std::string now = now_iso();
  json response = {{"success", false}, {"task_id", task.id}};
  if (exhausted) {
    tasks_.fail(task, retries, message, now);
    response["status"] = "failed";
    response["next_task_id"] = nullptr;
    response["message"] = "Task " + id_str(task.id) + " failed after " + std::to_string(retries) +
                          " attempt(s): " + message;
  } else {
    int64_t backoff = options_.retry_delay_ms * (int64_t{1} << std::min(retries - 1, 10));
    tasks_.requeue(task, {retries, message, now_ms() + backoff});
    response["status"] = "pending";
    response["next_task_id"] = task.id;
    response["message"] = "Task " + id_str(task.id) + " failed (attempt " +
                          std::to_string(retries) + "/" + std::to_string(task.max_retries) +
                          "), it will be retried: " + message;
  }
  response["queue_status"] = nullptr;
  if (!task.queue_id) return response;

  Queue queue = queues_.get(*task.queue_id);
  if (exhausted) {
    queues_.fail(queue.id, message, now);
    fail_listing(queue, message);
    response["queue_status"] = "failed";
    log::warn("queue " + id_str(queue.id) + " failed at " + task.step + ": " + message);
  } else {
    queues_.note_error(queue.id, message, now);
    response["queue_status"] = queue.status == QueueStatus::kQueued
                                   ? std::string("processing")
                                   : std::string(store::to_string(queue.status));
  }
  return response;
}

json Engine::pause(const Task& task, const std::string& reason) {
  tasks_.requeue(task, {task.retry_count, reason, std::nullopt});
  json response = {
      {"success", false},        {"task_id", task.id},
      {"status", "pending"},     {"next_task_id", task.id},
      {"queue_status", nullptr}, {"message", "Task " + id_str(task.id) + " paused: " + reason}};
  if (task.queue_id) {
    queues_.pause(*task.queue_id, reason, now_iso());
    response["queue_status"] = "paused";
    log::warn("queue " + id_str(*task.queue_id) + " paused: " + reason);
  }
  return response;
}

json Engine::delay(const Task& task, int64_t delay_ms, const std::string& message) {
  tasks_.requeue(task, {task.retry_count, message, now_ms() + delay_ms});
  return {{"success", false},
          {"task_id", task.id},
          {"status", "pending"},
          {"next_task_id", task.id},
          {"queue_status", task.queue_id ? json("processing") : json(nullptr)},
          {"retry_in_ms", delay_ms},
          {"message", "Task " + id_str(task.id) + " will be retried in " +
                          std::to_string((delay_ms + 999) / 1000) + " s: " + message}};
}

json Engine::apply(const Task& task, const Outcome& outcome, const json& body) {
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
  auto task = tasks_.find(report.task_id);
  if (!task) throw not_found("task " + id_str(report.task_id) + " does not exist");

  // A report already applied is answered as it was and never applied twice.
  // While the step is held by this connection a report is taken as new,
  // unless it names an earlier hand-out (attempt) and was seen before: the
  // seed's clients resend identical failures for each attempt on purpose.
  bool held_by_caller = task->held_by(owner);
  bool earlier_attempt = report.attempt && *report.attempt != task->attempt();
  if (!held_by_caller || earlier_attempt) {
    if (auto prior = tasks_.earlier_reply(task->id, report.fingerprint)) return json::parse(*prior);
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
    std::string status = store::to_string(task->status);
    std::string why = task->status == TaskStatus::kProcessing ? "it is leased to another connection"
                      : task->status == TaskStatus::kPending  ? "it is waiting to be handed out"
                                                              : "it already ended as " + status;
    throw AppError(ErrorCode::kNotInFlight,
                   "task " + id_str(task->id) + " is not in flight for this connection: " + why,
                   json{{"task_id", task->id}, {"status", status}});
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
  tasks_.close_attempt(
      task->id,
      {.outcome = kNames[static_cast<int>(outcome.kind)],
       .http_status =
           report.http_status ? std::optional<int64_t>(*report.http_status) : std::nullopt,
       .error_message = unless_empty(error),
       .request_hash = unless_empty(report.fingerprint),
       .response = response.dump()},
      now_iso());
  if (report.lease_next) response["next_task"] = lease_next_of(task->platform, owner);
  tx.commit();
  return response;
}

// --------------------------------------------------------- lease loss recovery

// A lost lease counts as a failed attempt: a step that kills its executor
// every time must end failed after max_retries instead of looping forever.
void Engine::lose_lease(const Task& task, const std::string& reason) {
  log::warn("task " + id_str(task.id) + " lost its lease: " + reason);
  fail_attempt(task, "lease lost: " + reason, false);
  tasks_.close_attempt(task.id, ended("lease_lost", reason), now_iso());
}

int Engine::release_owner(const std::string& owner, const std::string& reason) {
  Transaction tx(db_);
  auto ids = tasks_.leased_to(owner);
  for (int64_t id : ids) lose_lease(*tasks_.find(id), reason);
  tx.commit();
  return static_cast<int>(ids.size());
}

int Engine::expire_leases_locked(int64_t now) {
  auto ids = tasks_.expired(now);
  for (int64_t id : ids) {
    lose_lease(*tasks_.find(id),
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
  return tasks_.owners_other_than(self);
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
  auto lease = tasks_.earliest_lease_expiry();
  auto retry = tasks_.earliest_retry_after(now_ms());
  if (lease && retry) return std::min(*lease, *retry);
  return lease ? lease : retry;
}

Engine::DispatchState Engine::dispatch_state(const std::string& self) {
  store::ReadTransaction snapshot(db_);
  DispatchState state;
  state.next_deadline_ms = next_deadline_ms();
  state.ready_platforms = ready_platforms();
  state.foreign_leases = !foreign_owners(self).empty();
  return state;
}

// ------------------------------------------------------------- seller actions

json Engine::retry_queue(int64_t queue_id) {
  Transaction tx(db_);
  Queue queue = queues_.get(queue_id);
  if (queue.status == QueueStatus::kPaused) {
    resume_locked(queue);
    tx.commit();
    return this->queue(queue_id, false);
  }
  if (queue.status != QueueStatus::kFailed && queue.status != QueueStatus::kCancelled) {
    std::string status = store::to_string(queue.status);
    throw AppError(ErrorCode::kWrongState,
                   "queue " + id_str(queue_id) + " is " + status +
                       "; only failed, cancelled or paused queues can be retried",
                   json{{"status", status}});
  }
  const Flow& flow = registry_.get(queue.platform, queue.operation);
  store::Product product = products_.get(queue.product_id.value_or(0));
  auto listing_row = check_can_start(flow, product.id);
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
  std::string now = now_iso();
  queue.position = queues_.next_position();
  queues_.requeue(queue_id, queue.position, now);
  insert_step(queue, *step);
  queues_.set_step(queue_id, {step->step, flow.total_steps(state)}, now);
  if (auto running = flow.listing_rule().while_running; running && listing_row) {
    listings_.set_running(listing_row->id, *running, now);
  }
  tx.commit();
  return this->queue(queue_id, false);
}

json Engine::resume_queue(int64_t queue_id) {
  Transaction tx(db_);
  Queue queue = queues_.get(queue_id);
  if (queue.status != QueueStatus::kPaused) {
    std::string status = store::to_string(queue.status);
    throw AppError(ErrorCode::kWrongState,
                   "queue " + id_str(queue_id) + " is " + status + ", not paused",
                   json{{"status", status}});
  }
  resume_locked(queue);
  tx.commit();
  return this->queue(queue_id, false);
}

void Engine::resume_locked(const Queue& queue) {
  bool started = tasks_.successful_steps(queue.id) > 0;
  queues_.resume(queue.id, started ? QueueStatus::kProcessing : QueueStatus::kQueued, now_iso());
  tasks_.make_ready(queue.id);
}

json Engine::cancel_queue(int64_t queue_id) {
  Transaction tx(db_);
  Queue queue = queues_.get(queue_id);
  if (!store::is_active(queue.status)) {
    std::string status = store::to_string(queue.status);
    throw AppError(ErrorCode::kWrongState, "queue " + id_str(queue_id) + " is already " + status,
                   json{{"status", status}});
  }
  std::string now = now_iso();
  const std::string reason = "cancelled by the seller";
  tasks_.cancel_open_steps(queue_id, reason, now);
  queues_.cancel(queue_id, reason, now);
  fail_listing(queue, reason);
  tx.commit();
  return this->queue(queue_id, false);
}

// ---------------------------------------------------------------------- views

// Queues written before migration 5 carry no total: the flow counts it.
void Engine::fill_missing_total(json& view) {
  if (!view["progress"]["total"].is_null() || !view["product_id"].is_number()) return;
  const Flow* flow = registry_.find(view["platform"], view["operation"]);
  auto product = products_.find(view["product_id"]);
  if (!flow || !product) return;
  Queue row = queues_.get(view["id"]);
  ListingState listing = listing_state(row);
  view["progress"]["total"] = flow->total_steps({*product, listing, row.accumulated, row.context});
}

json Engine::queue(int64_t queue_id, bool with_tasks) {
  auto view = views_.queue(queue_id);
  if (!view) throw not_found("queue " + id_str(queue_id) + " does not exist");
  fill_missing_total(*view);
  if (with_tasks) (*view)["tasks"] = views_.steps_of(queue_id);
  return *view;
}

json Engine::queues(const QueueFilter& filter) {
  json out = views_.queues(filter);
  for (auto& view : out) fill_missing_total(view);
  return out;
}

json Engine::listings(const ListingFilter& filter) {
  return views_.listings(filter);
}

}  // namespace stoflow::workflow
