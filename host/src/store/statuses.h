#pragma once
// The statuses of the queue's tables, typed. Their text forms are the values
// stored in SQLite and shown in every view; parse_* refuses anything else.
#include <cstdint>
#include <optional>
#include <string_view>

namespace stoflow::store {

enum class QueueStatus { kQueued, kProcessing, kCompleted, kFailed, kPaused, kCancelled };
enum class TaskStatus { kPending, kProcessing, kSuccess, kFailed };
enum class ListingStatus { kPending, kPublished, kFailed, kDeleted, kSold };

const char* to_string(QueueStatus status);
const char* to_string(TaskStatus status);
const char* to_string(ListingStatus status);

std::optional<QueueStatus> parse_queue_status(std::string_view text);
std::optional<TaskStatus> parse_task_status(std::string_view text);
std::optional<ListingStatus> parse_listing_status(std::string_view text);

// The status of the row `id` read back from the database; throws
// DatabaseError when the text is none of ours.
QueueStatus stored_queue_status(int64_t id, std::string_view text);
TaskStatus stored_task_status(int64_t id, std::string_view text);
ListingStatus stored_listing_status(int64_t id, std::string_view text);

// "queued, processing, ..." for error messages.
const char* queue_status_names();
const char* listing_status_names();

}  // namespace stoflow::store
