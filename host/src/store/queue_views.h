#pragma once
// What the seller and the executors are shown of the queue, as JSON. Apart
// from the transitions (tasks.h, queues.h, listings.h): a view reads, never
// writes, and its columns sit next to the code that turns them into JSON.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "store/database.h"

namespace stoflow::store {

// One page of queues, newest first: the rows before `before_id`.
struct QueueFilter {
  std::optional<std::string> status = std::nullopt;
  std::optional<std::string> platform = std::nullopt;
  std::optional<int64_t> product_id = std::nullopt;
  std::optional<int64_t> before_id = std::nullopt;
  int limit = 50;
};

// One page of listings, oldest first: the rows after `after_id`.
struct ListingFilter {
  std::optional<int64_t> product_id = std::nullopt;
  std::optional<std::string> platform = std::nullopt;
  std::optional<std::string> status = std::nullopt;
  int64_t after_id = 0;
  int limit = 1000;
};

class QueueViews {
 public:
  explicit QueueViews(Database& db) : db_(db) {}

  // A queue with its progress; progress.total is null for queues written
  // before the schema recorded it (the engine asks their flow).
  std::optional<nlohmann::json> queue(int64_t queue_id);
  nlohmann::json queues(const QueueFilter& filter);  // throws invalid_params
  nlohmann::json steps_of(int64_t queue_id);
  // A step as it is handed to an executor.
  std::optional<nlohmann::json> handout(int64_t task_id);
  nlohmann::json listings(const ListingFilter& filter);  // throws invalid_params

 private:
  Database& db_;
};

}  // namespace stoflow::store
