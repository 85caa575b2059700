#include "store/statuses.h"

#include <array>
#include <string>
#include <utility>

#include "store/database.h"

namespace stoflow::store {

namespace {

template <typename Enum, size_t N>
using Names = std::array<std::pair<Enum, const char*>, N>;

constexpr Names<QueueStatus, 6> kQueueNames{{{QueueStatus::kQueued, "queued"},
                                             {QueueStatus::kProcessing, "processing"},
                                             {QueueStatus::kCompleted, "completed"},
                                             {QueueStatus::kFailed, "failed"},
                                             {QueueStatus::kPaused, "paused"},
                                             {QueueStatus::kCancelled, "cancelled"}}};
constexpr Names<TaskStatus, 4> kTaskNames{{{TaskStatus::kPending, "pending"},
                                           {TaskStatus::kProcessing, "processing"},
                                           {TaskStatus::kSuccess, "success"},
                                           {TaskStatus::kFailed, "failed"}}};
constexpr Names<ListingStatus, 5> kListingNames{{{ListingStatus::kPending, "pending"},
                                                 {ListingStatus::kPublished, "published"},
                                                 {ListingStatus::kFailed, "failed"},
                                                 {ListingStatus::kDeleted, "deleted"},
                                                 {ListingStatus::kSold, "sold"}}};

template <typename Enum, size_t N>
const char* name_of(const Names<Enum, N>& names, Enum value) {
  for (const auto& [e, name] : names)
    if (e == value) return name;
  return "unknown";
}

template <typename Enum, size_t N>
std::optional<Enum> parse(const Names<Enum, N>& names, std::string_view text) {
  for (const auto& [e, name] : names)
    if (text == name) return e;
  return std::nullopt;
}

template <typename Enum, size_t N>
Enum stored(const Names<Enum, N>& names, const char* row, int64_t id, std::string_view text) {
  if (auto status = parse(names, text)) return *status;
  throw DatabaseError(std::string(row) + " " + std::to_string(id) + " has status \"" +
                      std::string(text) + "\", which this stoflow-host does not know");
}

}  // namespace

QueueStatus stored_queue_status(int64_t id, std::string_view text) {
  return stored(kQueueNames, "queue", id, text);
}
TaskStatus stored_task_status(int64_t id, std::string_view text) {
  return stored(kTaskNames, "task", id, text);
}
ListingStatus stored_listing_status(int64_t id, std::string_view text) {
  return stored(kListingNames, "listing", id, text);
}

const char* to_string(QueueStatus status) {
  return name_of(kQueueNames, status);
}
const char* to_string(TaskStatus status) {
  return name_of(kTaskNames, status);
}
const char* to_string(ListingStatus status) {
  return name_of(kListingNames, status);
}

std::optional<QueueStatus> parse_queue_status(std::string_view text) {
  return parse(kQueueNames, text);
}
std::optional<TaskStatus> parse_task_status(std::string_view text) {
  return parse(kTaskNames, text);
}
std::optional<ListingStatus> parse_listing_status(std::string_view text) {
  return parse(kListingNames, text);
}

const char* queue_status_names() {
  return "queued, processing, completed, failed, paused, cancelled";
}
const char* listing_status_names() {
  return "pending, published, failed, deleted, sold";
}

}  // namespace stoflow::store
