#pragma once
// A product's listing on each platform (listings), typed: what the engine
// reads before an operation and the moves its flows' rules make.
#include <cstdint>
#include <optional>
#include <string>

#include "store/database.h"
#include "store/statuses.h"

namespace stoflow::store {

struct ListingRecord {
  int64_t id = 0;
  int64_t product_id = 0;
  std::string platform;
  ListingStatus status = ListingStatus::kPending;
  std::string remote_id;  // empty until the platform gave one
  std::string url;
};

// Where the platform put the listing.
struct RemoteListing {
  std::string remote_id;
  std::string url;
};

class ListingStore {
 public:
  explicit ListingStore(Database& db) : db_(db) {}

  std::optional<ListingRecord> find(int64_t product_id, const std::string& platform);
  ListingRecord insert(int64_t product_id, const std::string& platform, ListingStatus status,
                       const std::string& now);

  // An operation starts: the status it runs under, and no error.
  void set_running(int64_t id, ListingStatus status, const std::string& now);
  // The operation succeeded; `remote` replaces the id and URL when given.
  void succeed(int64_t product_id, const std::string& platform, ListingStatus status,
               const std::optional<RemoteListing>& remote, const std::string& now);
  // The operation failed or was cancelled: the status its flow says (none
  // keeps the listing as it is online) and why, for the seller.
  void fail(int64_t product_id, const std::string& platform,
            const std::optional<ListingStatus>& status, const std::string& error,
            const std::string& now);

 private:
  Database& db_;
};

}  // namespace stoflow::store
