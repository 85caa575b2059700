#include "store/migrations.h"

#include <string>
#include <vector>

#include "util/clock.h"
#include "util/log.h"

namespace stoflow::store {

namespace {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Append only: a released migration is never edited, a change is a new entry.
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list = {
      {1, "initial schema", R"SQL(
CREATE TABLE products (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  title        TEXT    NOT NULL,
  description  TEXT    NOT NULL DEFAULT '',
  price_cents  INTEGER NOT NULL CHECK (price_cents >= 0),
  currency     TEXT    NOT NULL DEFAULT 'EUR',
  attributes   TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(attributes)),
  created_at   TEXT    NOT NULL,
  updated_at   TEXT    NOT NULL
);

CREATE TABLE blobs (
  sha256       TEXT    PRIMARY KEY CHECK (length(sha256) = 64),
  size         INTEGER NOT NULL,
  content_type TEXT    NOT NULL,
  created_at   TEXT    NOT NULL
);

CREATE TABLE product_images (
  product_id   INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
  position     INTEGER NOT NULL,
  blob_sha256  TEXT    NOT NULL REFERENCES blobs(sha256),
  filename     TEXT    NOT NULL,
  source       TEXT    NOT NULL,
  PRIMARY KEY (product_id, position)
);

CREATE TABLE listings (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  product_id    INTEGER NOT NULL REFERENCES products(id),
  platform      TEXT    NOT NULL,
  status        TEXT    NOT NULL CHECK (status IN ('pending', 'published', 'failed')),
  remote_id     TEXT,
  url           TEXT,
  error_message TEXT,
  created_at    TEXT    NOT NULL,
  updated_at    TEXT    NOT NULL,
  published_at  TEXT,
  UNIQUE (product_id, platform)
);

-- FIFO positions come from this counter, not from row ids or clocks.
CREATE TABLE sequences (
  name  TEXT    PRIMARY KEY,
  value INTEGER NOT NULL
);

CREATE TABLE plugin_queue (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  platform         TEXT    NOT NULL,
  operation        TEXT    NOT NULL,
  product_id       INTEGER REFERENCES products(id),
  status           TEXT    NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'paused', 'cancelled')),
  current_step     TEXT,
  accumulated_data TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(accumulated_data)),
  context_data     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(context_data)),
  error_message    TEXT,
  paused_reason    TEXT,
  retry_count      INTEGER NOT NULL DEFAULT 0,
  position         INTEGER NOT NULL UNIQUE,
  created_at       TEXT    NOT NULL,
  updated_at       TEXT    NOT NULL
);
CREATE INDEX plugin_queue_active ON plugin_queue (platform, status, position);
CREATE INDEX plugin_queue_product ON plugin_queue (product_id);

CREATE TABLE plugin_tasks (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  queue_id         INTEGER REFERENCES plugin_queue(id),
  task_type        TEXT,
  platform         TEXT    NOT NULL,
  step             TEXT,
  http_method      TEXT    NOT NULL,
  path             TEXT    NOT NULL,
  body_kind        TEXT    NOT NULL DEFAULT 'json' CHECK (body_kind IN ('json', 'multipart', 'none')),
  payload          TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
  status           TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'processing', 'success', 'failed')),
  result           TEXT,
  error_message    TEXT,
  retry_count      INTEGER NOT NULL DEFAULT 0,
  max_retries      INTEGER NOT NULL DEFAULT 3,
  position         INTEGER,
  available_at     INTEGER NOT NULL DEFAULT 0,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  started_at       TEXT,
  completed_at     TEXT
);
CREATE INDEX plugin_tasks_queue ON plugin_tasks (queue_id, status);

-- Legacy (V1) writers insert tasks without a FIFO position: give them the next one.
CREATE TRIGGER plugin_tasks_default_position AFTER INSERT ON plugin_tasks
WHEN NEW.position IS NULL
BEGIN
  INSERT INTO sequences (name, value) VALUES ('fifo', 1)
    ON CONFLICT (name) DO UPDATE SET value = value + 1;
  UPDATE plugin_tasks SET position = (SELECT value FROM sequences WHERE name = 'fifo')
    WHERE id = NEW.id;
END;
CREATE INDEX plugin_tasks_platform ON plugin_tasks (platform, status);
CREATE INDEX plugin_tasks_owner ON plugin_tasks (lease_owner) WHERE lease_owner IS NOT NULL;

-- One row per hand-out: the audit trail, and the memory that lets a repeated
-- result be answered exactly as the first one was.
CREATE TABLE task_attempts (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id       INTEGER NOT NULL REFERENCES plugin_tasks(id),
  attempt       INTEGER NOT NULL,
  lease_owner   TEXT    NOT NULL,
  started_at    TEXT    NOT NULL,
  finished_at   TEXT,
  outcome       TEXT,
  http_status   INTEGER,
  error_message TEXT,
  request_hash  TEXT,
  response      TEXT
);
CREATE INDEX task_attempts_task ON task_attempts (task_id, attempt);
)SQL"},
      {2, "one active operation per product and platform", R"SQL(
-- Two live operations for one product and platform would list it twice on
-- the marketplace. Earlier duplicates (there should be none) are cancelled.
UPDATE plugin_queue
   SET status = 'cancelled',
       error_message = 'cancelled: a duplicate of an earlier operation for this product (migration 2)'
 WHERE status IN ('queued', 'processing', 'paused')
   AND EXISTS (SELECT 1 FROM plugin_queue older
                WHERE older.product_id = plugin_queue.product_id
                  AND older.platform = plugin_queue.platform
                  AND older.status IN ('queued', 'processing', 'paused')
                  AND older.id < plugin_queue.id);
CREATE UNIQUE INDEX plugin_queue_one_active ON plugin_queue (product_id, platform)
  WHERE status IN ('queued', 'processing', 'paused');
)SQL"},
      {3, "listings can be deleted or sold", R"SQL(
-- SQLite cannot widen a CHECK in place: the table is rebuilt, rows and ids kept.
CREATE TABLE listings_v3 (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  product_id    INTEGER NOT NULL REFERENCES products(id),
  platform      TEXT    NOT NULL,
  status        TEXT    NOT NULL
                CHECK (status IN ('pending', 'published', 'failed', 'deleted', 'sold')),
  remote_id     TEXT,
  url           TEXT,
  error_message TEXT,
  created_at    TEXT    NOT NULL,
  updated_at    TEXT    NOT NULL,
  published_at  TEXT,
  UNIQUE (product_id, platform)
);
INSERT INTO listings_v3 (id, product_id, platform, status, remote_id, url, error_message,
                         created_at, updated_at, published_at)
  SELECT id, product_id, platform, status, remote_id, url, error_message,
         created_at, updated_at, published_at FROM listings;
DROP TABLE listings;
ALTER TABLE listings_v3 RENAME TO listings;
)SQL"},
      {4, "dispatch by index lookups only", R"SQL(
-- Each platform's line, oldest first: the head is one index lookup whatever
-- the number of queued or finished operations. The WHERE clauses are the
-- ones the engine's queries use, word for word, so SQLite picks these.
CREATE INDEX plugin_queue_line ON plugin_queue (platform, position)
  WHERE status IN ('queued', 'processing', 'paused');
CREATE INDEX plugin_tasks_legacy_line ON plugin_tasks (platform, position)
  WHERE queue_id IS NULL AND status = 'pending';
-- The next deadline: a lease that expires, a retry that becomes due.
CREATE INDEX plugin_tasks_leased ON plugin_tasks (lease_expires_at) WHERE status = 'processing';
CREATE INDEX plugin_tasks_waiting ON plugin_tasks (available_at) WHERE status = 'pending';
)SQL"},
  };
  return list;
}

void ensure_migrations_table(Database& db) {
  db.exec_script(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
}

}  // namespace

int schema_version(Database& db) {
  ensure_migrations_table(db);
  auto q = db.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  q.step();
  return static_cast<int>(q.int64(0));
}

int latest_schema_version() {
  return migrations().back().version;
}

void migrate(Database& db) {
  int current = schema_version(db);
  int latest = latest_schema_version();
  if (current > latest) {
    throw DatabaseError("the database has schema version " + std::to_string(current) +
                        " but this stoflow-host only knows up to " + std::to_string(latest) +
                        "; install a newer stoflow-host");
  }
  for (const auto& migration : migrations()) {
    if (migration.version <= current) continue;
    Transaction tx(db);
    // Another process may have applied it while we waited for the write lock.
    if (schema_version(db) >= migration.version) continue;
    db.exec_script(migration.sql);
    db.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            migration.version, migration.name, now_iso());
    tx.commit();
    log::info("applied migration " + std::to_string(migration.version) + " (" + migration.name +
              ")");
  }
}

}  // namespace stoflow::store
