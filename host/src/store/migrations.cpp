#include "store/migrations.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <set>
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
// Names are never edited either: recorded_schema_version checks each recorded
// row against them to tell damage from a real version.
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
      {5, "queues know their number of steps", R"SQL(
-- Written with each step the flow generates, so a list of queues is one query.
ALTER TABLE plugin_queue ADD COLUMN total_steps INTEGER;
)SQL"},
      {6, "a step writes as few index pages as it can", R"SQL(
-- Each index a step's rows move through is a page written at every commit.
-- (platform, status) held every step ever run, and each status change moved
-- an entry between far-apart regions; the leases had three indexes of their
-- own. The steps in flight (at most one per platform) now have one tiny
-- index that answers every lease question, and only the steps that wait for
-- a moment (a retry, a rate limit) are indexed by that moment.
-- plugin_queue_active served no query that plugin_queue_line does not.
DROP INDEX plugin_tasks_platform;
DROP INDEX plugin_tasks_leased;
DROP INDEX plugin_tasks_owner;
CREATE INDEX plugin_tasks_in_flight ON plugin_tasks (platform, lease_owner, lease_expires_at)
  WHERE status = 'processing';
DROP INDEX plugin_tasks_waiting;
CREATE INDEX plugin_tasks_delayed ON plugin_tasks (available_at)
  WHERE status = 'pending' AND available_at > 0;
DROP INDEX plugin_queue_active;
)SQL"},
      {7, "products can change", R"SQL(
-- How many the seller has, and their own reference for it (unique when given).
ALTER TABLE products ADD COLUMN quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity >= 0);
ALTER TABLE products ADD COLUMN sku TEXT;
CREATE UNIQUE INDEX products_sku ON products (sku) WHERE sku IS NOT NULL;
-- Imports kept "sku" and "quantity" among the seller's own fields: valid ones
-- move to the columns (a sku on several products stays with the oldest only;
-- the others keep theirs among their own fields).
UPDATE products SET sku = m.sku, attributes = json_remove(products.attributes, '$.sku')
  FROM (SELECT MIN(id) AS id, json_extract(attributes, '$.sku') AS sku FROM products
         WHERE json_type(attributes, '$.sku') = 'text'
           AND length(json_extract(attributes, '$.sku')) BETWEEN 1 AND 100
         GROUP BY 2) AS m
 WHERE products.id = m.id;
UPDATE products SET quantity = json_extract(attributes, '$.quantity'),
                    attributes = json_remove(attributes, '$.quantity')
 WHERE json_type(attributes, '$.quantity') = 'integer'
   AND json_extract(attributes, '$.quantity') BETWEEN 0 AND 10000;
-- Set when a published product is changed: the listing online no longer
-- matches the catalogue until it is sent again.
ALTER TABLE listings ADD COLUMN out_of_date INTEGER NOT NULL DEFAULT 0;
)SQL"},
  };
  return list;
}

constexpr const char* kMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

void ensure_migrations_table(Database& db) {
  db.exec_script(kMigrationsTable);
}

std::filesystem::path file_of(sqlite3* db) {
  const char* name = sqlite3_db_filename(db, "main");
  return name ? std::filesystem::path(name) : std::filesystem::path();
}

[[noreturn]] void damaged(sqlite3* db, const std::string& detail) {
  throw DatabaseDamaged(file_of(db), detail);
}

bool has_table(sqlite3* db, const char* name) {
  Statement q(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  q.bind(1, name);
  return q.step();
}

// sqlite_master without SQLite's own objects (sqlite_sequence, automatic
// indexes), in a fixed order: what two databases must share to have one schema.
using Schema = std::vector<std::array<std::string, 3>>;

Schema schema_of(sqlite3* db) {
  Schema schema;
  Statement q(db,
              "SELECT type, name, COALESCE(sql, '') FROM sqlite_master"
              " WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name");
  while (q.step()) schema.push_back({q.text(0), q.text(1), q.text(2)});
  return schema;
}

void run_script(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw DatabaseError("SQL failed: " + message);
  }
}

// Run before believing what a database says about itself when that is surprising.
void confirm_intact(Database& db) {
  auto damage = quick_check(db.handle(), 1);
  if (!damage.empty()) throw DatabaseDamaged(db.path(), "PRAGMA quick_check: " + damage.front());
}

// A database that holds exactly the tables of version N but lost some or all
// rows of schema_migrations (to damage, the rest salvaged with .dump) gets
// them back: the schema proves the migrations ran, and running them again
// would only fail on tables that exist. Returns the version recorded, 0 when
// the tables prove nothing.
int adopt_unrecorded_schema(Database& db) {
  if (!has_objects_besides_migrations(db.handle())) return 0;
  auto version = version_of_unrecorded_schema(db.handle());
  if (!version) return 0;  // not ours: migration 1 will say what is in the way
  Transaction tx(db);
  for (const auto& migration : migrations()) {
    if (migration.version > *version) break;
    // Rows that survived, or that another process wrote meanwhile, stay.
    db.exec("INSERT OR IGNORE INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            migration.version, migration.name, now_iso());
  }
  tx.commit();
  log::warn(
      "schema_migrations had lost rows but the database holds exactly the tables of schema "
      "version " +
      std::to_string(*version) + " (salvaged after damage?): recorded it");
  return *version;
}

void apply_migrations(Database& db) {
  ensure_migrations_table(db);
  int current = 0;
  try {
    current = recorded_schema_version(db.handle());
  } catch (const SchemaRowsMissing&) {
    confirm_intact(db);
    current = adopt_unrecorded_schema(db);
    if (current == 0) throw;
  }
  int latest = latest_schema_version();
  if (current > latest) {
    // Random bytes in the page of schema_migrations can read as any version:
    // only an intact file may be called newer.
    confirm_intact(db);
    throw DatabaseNewer("the database has schema version " + std::to_string(current) +
                        " but this stoflow-host only knows up to " + std::to_string(latest) +
                        "; install the newer stoflow-host that wrote it");
  }
  if (current == 0) current = adopt_unrecorded_schema(db);
  for (const auto& migration : migrations()) {
    if (migration.version <= current) continue;
    Transaction tx(db);
    // Another process may have applied it while we waited for the write lock.
    if (recorded_schema_version(db.handle()) >= migration.version) continue;
    try {
      db.exec_script(migration.sql);
    } catch (const DatabaseError& e) {
      throw DatabaseError("cannot apply migration " + std::to_string(migration.version) + " (" +
                          migration.name + "): " + e.what());
    }
    db.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            migration.version, migration.name, now_iso());
    tx.commit();
    log::info("applied migration " + std::to_string(migration.version) + " (" + migration.name +
              ")");
  }
}

}  // namespace

int latest_schema_version() {
  return migrations().back().version;
}

int recorded_schema_version(sqlite3* db) {
  if (!has_table(db, "schema_migrations")) return 0;
  const auto& known = migrations();
  int latest = latest_schema_version();
  Statement rows(db,
                 "SELECT version, typeof(version), name, typeof(name) FROM schema_migrations"
                 " ORDER BY version");
  std::set<int64_t> seen;
  int64_t highest = 0;
  while (rows.step()) {
    if (rows.text(1) != "integer" || rows.text(3) != "text") {
      damaged(db, "schema_migrations holds a row whose version or name is of the wrong type");
    }
    int64_t version = rows.int64(0);
    std::string shown = std::to_string(version);
    if (version < 1 || version > INT32_MAX) {
      damaged(db, "schema_migrations holds version " + shown + ", which no stoflow-host writes");
    }
    if (version <= latest && rows.text(2) != known[static_cast<size_t>(version - 1)].name) {
      damaged(db, "schema_migrations names version " + shown + " otherwise than stoflow-host does");
    }
    seen.insert(version);
    highest = std::max(highest, version);
  }
  // Migrations run in order, each committed with its row: a gap among the
  // versions this binary knows cannot be a real history.
  for (int64_t version = 1; version <= std::min<int64_t>(highest, latest); ++version) {
    if (!seen.contains(version)) {
      throw SchemaRowsMissing(file_of(db), "schema_migrations records version " +
                                               std::to_string(highest) + " but not version " +
                                               std::to_string(version));
    }
  }
  return static_cast<int>(highest);
}

bool has_objects_besides_migrations(sqlite3* db) {
  Statement q(db,
              "SELECT 1 FROM sqlite_master WHERE name != 'schema_migrations'"
              " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' LIMIT 1");
  return q.step();
}

std::optional<int> version_of_unrecorded_schema(sqlite3* db) {
  Schema actual = schema_of(db);
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> scratch(raw, &sqlite3_close);
  if (rc != SQLITE_OK) throw DatabaseError("cannot open an in-memory database");
  // Each version's schema, built the way the host builds it.
  run_script(scratch.get(), kMigrationsTable);
  for (const auto& migration : migrations()) {
    run_script(scratch.get(), migration.sql);
    if (schema_of(scratch.get()) == actual) return migration.version;
  }
  return std::nullopt;
}

int schema_version(Database& db) {
  ensure_migrations_table(db);
  return recorded_schema_version(db.handle());
}

void migrate(Database& db) {
  try {
    apply_migrations(db);
  } catch (const DatabaseNewer&) {
    throw;  // already confirmed intact
  } catch (const DatabaseError&) {
    // A failure on a file that is not intact is the damage speaking (say rows of
    // schema_migrations unreadable, so migration 1 meets tables that exist):
    // report the damage, not the symptom.
    std::vector<std::string> damage;
    try {
      damage = quick_check(db.handle(), 1);
    } catch (const DatabaseError&) {
      // The check could not run (busy, I/O): the first error says more.
    }
    if (!damage.empty()) throw DatabaseDamaged(db.path(), "PRAGMA quick_check: " + damage.front());
    throw;
  }
}

}  // namespace stoflow::store
