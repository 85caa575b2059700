#pragma once
// The platform-agnostic step engine: every transition of a task, its queue
// and its listing row happens in one SQLite transaction, so a crash at any
// point leaves either the state before or the state after, never a mix.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"
#include "store/listings.h"
#include "store/products.h"
#include "store/queue_views.h"
#include "store/queues.h"
#include "store/tasks.h"
#include "workflow/registry.h"

namespace stoflow::workflow {

// Keeps every task view well inside Chrome's 1 MiB message limit.
inline constexpr size_t kMaxTaskBytes = 900 * 1024;
inline constexpr double kMaxRetryAfterSeconds = 24 * 60 * 60;

struct EngineOptions {
  int64_t lease_ms = 10 * 60 * 1000;
  // The seed hands a failed step out again at the next poll; a back-off
  // (doubled after each failed attempt) is opt-in.
  int64_t retry_delay_ms = 0;
  int64_t default_rate_limit_ms = 60 * 1000;
  int max_retries = 3;
};

struct EnqueueReceipt {
  int64_t product_id = 0;
  int64_t listing_id = 0;
  int64_t queue_id = 0;
  int64_t task_id = 0;
  std::string message;
};

struct TaskReport {
  int64_t task_id = 0;
  bool success = false;
  std::optional<int> http_status;
  nlohmann::json result;  // null when absent
  std::optional<std::string> error_message;
  std::optional<std::string> error_kind;
  std::optional<double> retry_after_seconds;
  std::optional<int> attempt;  // the hand-out the report is for, when the client says
  // Lease the platform's next ready step to the reporter in the same
  // transaction and return it as `next_task`: one durable commit per step.
  bool lease_next = false;
  std::string fingerprint;  // identifies a repeated report (hash of its params)
};

using store::ListingFilter;
using store::QueueFilter;

struct LegacyTask {
  std::string platform;
  std::string task_type;
  std::string http_method;
  std::string path;
  BodyKind body = BodyKind::kJson;
  nlohmann::json payload = nlohmann::json::object();
};

class Engine {
 public:
  Engine(store::Database& db, store::ProductStore& products, const Registry& registry,
         EngineOptions options);

  // Queues `operation` of `product_id` on `platform`: the queue and its first
  // step only, the listing as the operation's flow says. Throws wrong_state
  // when the listing is not in a state the operation starts from.
  EnqueueReceipt enqueue(const std::string& platform, const std::string& operation,
                         int64_t product_id,
                         const nlohmann::json& params = nlohmann::json::object());
  int64_t enqueue_legacy(const LegacyTask& task);

  // Which steps a lease call returns besides the newly leased ones.
  enum class Held {
    kListedAgain,  // a connection that asks again is told what it holds
    kNotListed,    // a poller (the seed's GET) must not run a step twice
  };
  // Leases the ready steps to `owner` (at most one in flight per platform,
  // oldest operation first).
  nlohmann::json lease(const std::string& owner, int limit, Held held = Held::kListedAgain);
  // Applies a result once; a repeated identical report gets the same answer.
  nlohmann::json report(const std::string& owner, const TaskReport& report);

  nlohmann::json retry_queue(int64_t queue_id);
  nlohmann::json resume_queue(int64_t queue_id);
  nlohmann::json cancel_queue(int64_t queue_id);

  // Lease endings other than a result. Each counts as a failed attempt.
  int release_owner(const std::string& owner, const std::string& reason);
  int expire_leases();
  int recover_dead_owners(const std::string& self,
                          const std::function<bool(const std::string&)>& is_alive);

  std::vector<std::string> ready_platforms();
  // Earliest moment a lease expires or a delayed retry becomes ready.
  std::optional<int64_t> next_deadline_ms();
  std::vector<std::string> foreign_owners(const std::string& self);

  // What a host waiting for work needs after each event, from one snapshot.
  struct DispatchState {
    std::optional<int64_t> next_deadline_ms;  // a lease expires or a retry becomes due
    std::vector<std::string> ready_platforms;
    bool foreign_leases = false;  // steps held by other processes
  };
  DispatchState dispatch_state(const std::string& self);

  nlohmann::json queue(int64_t queue_id, bool with_tasks);
  nlohmann::json queues(const QueueFilter& filter);
  nlohmann::json listings(const ListingFilter& filter);

  const EngineOptions& options() const { return options_; }

 private:
  struct Outcome;
  using Task = store::TaskRecord;
  using Queue = store::QueueRecord;

  struct ReadyStep {
    int64_t task_id = 0;
    std::optional<store::QueueStatus> queue_status;  // none for a V1 task
  };
  std::optional<ReadyStep> ready_task(const std::string& platform, int64_t now);
  std::vector<std::string> active_platforms();
  std::optional<nlohmann::json> lease_task(const ReadyStep& ready, const std::string& owner,
                                           int64_t now);
  nlohmann::json lease_next_of(const std::string& platform, const std::string& owner);
  ListingState listing_state(const Queue& queue);
  std::optional<store::ListingRecord> check_can_start(const Flow& flow, int64_t product_id);
  std::optional<store::ListingStatus> failure_status(const Queue& queue) const;
  void fail_listing(const Queue& queue, const std::string& error);
  int64_t insert_step(const Queue& queue, const StepSpec& step);
  void fill_missing_total(nlohmann::json& view);

  Outcome classify(const Task& task, const TaskReport& report);
  nlohmann::json apply(const Task& task, const Outcome& outcome, const nlohmann::json& body);
  nlohmann::json advance(const Task& task, const nlohmann::json& body);
  nlohmann::json fail_attempt(const Task& task, const std::string& message, bool final_now);
  nlohmann::json pause(const Task& task, const std::string& reason);
  nlohmann::json delay(const Task& task, int64_t delay_ms, const std::string& message);
  void lose_lease(const Task& task, const std::string& reason);
  void resume_locked(const Queue& queue);
  int expire_leases_locked(int64_t now);

  store::Database& db_;
  store::ProductStore& products_;
  store::TaskStore tasks_;
  store::QueueStore queues_;
  store::ListingStore listings_;
  store::QueueViews views_;
  const Registry& registry_;
  EngineOptions options_;
};

}  // namespace stoflow::workflow
