#include "store/listings.h"

namespace stoflow::store {

namespace {

// The columns of a ListingRecord and its reader, side by side.
#define STOFLOW_LISTING_COLUMNS \
  "id, product_id, platform, status, COALESCE(remote_id, ''), COALESCE(url, '')"

ListingRecord read_listing(const Statement& q) {
  return ListingRecord{q.int64(0), q.int64(1),
                       q.text(2),  stored_listing_status(q.int64(0), q.text(3)),
                       q.text(4),  q.text(5)};
}

std::optional<std::string> unless_empty(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

}  // namespace

std::optional<ListingRecord> ListingStore::find(int64_t product_id, const std::string& platform) {
  auto q = db_.query("SELECT " STOFLOW_LISTING_COLUMNS
                     " FROM listings WHERE product_id = ? AND platform = ?",
                     product_id, platform);
  if (!q.step()) return std::nullopt;
  return read_listing(q);
}

ListingRecord ListingStore::insert(int64_t product_id, const std::string& platform,
                                   ListingStatus status, const std::string& now) {
  db_.exec(
      "INSERT INTO listings (product_id, platform, status, created_at, updated_at)"
      " VALUES (?, ?, ?, ?, ?)",
      product_id, platform, to_string(status), now, now);
  return ListingRecord{db_.last_insert_id(), product_id, platform, status, "", ""};
}

void ListingStore::set_running(int64_t id, ListingStatus status, const std::string& now) {
  db_.exec("UPDATE listings SET status = ?, error_message = NULL, updated_at = ? WHERE id = ?",
           to_string(status), now, id);
}

void ListingStore::succeed(int64_t product_id, const std::string& platform, ListingStatus status,
                           const std::optional<RemoteListing>& remote, const std::string& now) {
  if (remote) {
    db_.exec(
        "UPDATE listings SET status = ?, remote_id = ?, url = ?, error_message = NULL,"
        " out_of_date = 0, published_at = ?, updated_at = ? WHERE product_id = ? AND platform = ?",
        to_string(status), remote->remote_id, remote->url, now, now, product_id, platform);
    return;
  }
  db_.exec(
      "UPDATE listings SET status = ?, error_message = NULL, updated_at = ?"
      " WHERE product_id = ? AND platform = ?",
      to_string(status), now, product_id, platform);
}

void ListingStore::fail(int64_t product_id, const std::string& platform,
                        const std::optional<ListingStatus>& status, const std::string& error,
                        const std::string& now) {
  if (!status) {
    db_.exec(
        "UPDATE listings SET error_message = ?, updated_at = ? WHERE product_id = ?"
        " AND platform = ?",
        unless_empty(error), now, product_id, platform);
    return;
  }
  db_.exec(
      "UPDATE listings SET status = ?, error_message = ?, updated_at = ?"
      " WHERE product_id = ? AND platform = ?",
      to_string(*status), unless_empty(error), now, product_id, platform);
}

}  // namespace stoflow::store
