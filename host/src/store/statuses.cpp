#include "store/statuses.h"

#include <array>
#include <utility>

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

}  // namespace

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
