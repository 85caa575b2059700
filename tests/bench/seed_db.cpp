#include "seed_db.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <random>
#include <vector>

#include "bench_sqlite.h"
#include "util/crypto.h"

namespace stoflow::bench {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Bumped whenever the rows written below change, so stale caches are not used.
constexpr int kSeedFormat = 2;
// One timestamp for every row: the host orders by position, never by clock.
constexpr const char* kNow = "2026-11-29T10:40:01.532Z";

// The host's own hash, as Service fingerprints a report with it.
using stoflow::sha256_hex;

// The schema the real binary created, so a cache built for another schema
// (a new migration) is never handed to a host that would migrate it first.
std::string schema_key(const fs::path& db_path) {
  Db db(db_path);
  // Closing the last connection would checkpoint too; copies need it done.
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  auto q = db.prepare(
      "SELECT COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
      " ORDER BY type, name");
  std::string schema;
  while (q.step()) schema += q.text(0) + ";";
  return sha256_hex(schema).substr(0, 12);
}

class Uuids {
 public:
  std::string next() {
    char text[37];
    uint64_t a = rng_(), b = rng_();
    std::snprintf(text, sizeof text, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFF),
                  static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3FFF)),
                  static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
    return text;
  }

 private:
  std::mt19937_64 rng_{20261129};
};

struct Photo {
  std::string sha256, filename, content_type, source;
  int64_t size = 0;
};

struct Product {
  std::string title, description, currency;
  int64_t price_cents = 0;
  json attributes;
};

// VintedPublish::item_payload.
json item_payload(const Product& product, const json& accumulated, const json& context) {
  const json& attrs = product.attributes["vinted"];
  json photos = json::array();
  for (const auto& id : accumulated.value("photo_ids", json::array())) {
    photos.push_back({{"id", id}, {"orientation", 0}});
  }
  auto field = [&](const char* key) { return attrs.contains(key) ? attrs[key] : json(nullptr); };
  char price[32];
  std::snprintf(price, sizeof price, "%lld.%02lld",
                static_cast<long long>(product.price_cents / 100),
                static_cast<long long>(product.price_cents % 100));
  return {{"id", nullptr},
          {"currency", product.currency},
          {"temp_uuid", context.value("temp_uuid", "")},
          {"title", product.title},
          {"description", product.description},
          {"brand_id", field("brand_id")},
          {"size_id", field("size_id")},
          {"catalog_id", field("catalog_id")},
          {"status_id", field("status_id")},
          {"price", price},
          {"package_size_id", field("package_size_id")},
          {"color_ids", attrs.contains("color_ids") ? attrs["color_ids"] : json::array()},
          {"assigned_photos", photos},
          {"is_unisex", attrs.value("is_unisex", false)},
          {"item_attributes", attrs.value("item_attributes", json::array())}};
}

// Writes the rows. Statements are prepared once: a million tasks is a few
// million inserts.
class Seeder {
 public:
  explicit Seeder(Db& db) : db_(db) { load_template(); }

  void seed(const Shape& shape) {
    for (int64_t i = 0; i < shape.completed; ++i) {
      auto [id, product] = new_product();
      completed_publish(id, product);
    }
    for (int64_t i = 0; i < shape.queued; ++i) queued_publish(new_product().first);
    for (int64_t i = 0; i < shape.listed; ++i) published_listing(new_product().first);
    // Engine::next_position's counter, where the last position left it.
    db_.prepare(
           "INSERT INTO sequences (name, value) VALUES ('fifo', ?1)"
           " ON CONFLICT (name) DO UPDATE SET value = ?1")
        .bind(1, position_)
        .run();
  }

 private:
  // The product the real binary imported: every product is a copy of it
  // sharing its photo (one blob), as a catalogue of one photo per item.
  void load_template() {
    auto p = db_.prepare(
        "SELECT id, title, description, price_cents, currency, attributes FROM products"
        " ORDER BY id LIMIT 1");
    if (!p.step()) throw std::runtime_error("the base database holds no product");
    template_id_ = p.int64(0);
    product_.title = p.text(1);
    product_.description = p.text(2);
    product_.price_cents = p.int64(3);
    product_.currency = p.text(4);
    product_.attributes = json::parse(p.text(5));
    attributes_ = product_.attributes.dump();
    auto i = db_.prepare(
        "SELECT i.blob_sha256, i.filename, i.source, b.content_type, b.size"
        " FROM product_images i JOIN blobs b ON b.sha256 = i.blob_sha256"
        " WHERE i.product_id = ? ORDER BY i.position");
    i.bind(1, template_id_);
    if (!i.step()) throw std::runtime_error("the base product has no photo");
    photo_ = {i.text(0), i.text(1), i.text(3), i.text(2), i.int64(4)};
    auto s = db_.prepare("SELECT value FROM sequences WHERE name = 'fifo'");
    if (s.step()) position_ = s.int64(0);
  }

  // The template product itself is the first one used; then copies.
  std::pair<int64_t, Product> new_product() {
    Product product = product_;
    if (!template_used_) {
      template_used_ = true;
      return {template_id_, product};
    }
    product.title += " #" + std::to_string(++copies_);
    insert_product_.bind(1, product.title)
        .bind(2, product.description)
        .bind(3, product.price_cents)
        .bind(4, product.currency)
        .bind(5, attributes_)
        .bind(6, kNow)
        .bind(7, kNow)
        .run();
    int64_t id = db_.last_insert_id();
    insert_image_.bind(1, id)
        .bind(2, photo_.sha256)
        .bind(3, photo_.filename)
        .bind(4, photo_.source)
        .run();
    return {id, product};
  }

  json upload_payload(const json& context) const {
    return {{"photo[type]", "item"},
            {"photo[temp_uuid]", context["temp_uuid"]},
            {"photo[file]",
             {{"$blob", photo_.sha256},
              {"filename", photo_.filename},
              {"content_type", photo_.content_type},
              {"size", photo_.size}}}};
  }

  json new_context() {
    return {{"temp_uuid", uuids_.next()}, {"upload_session_id", uuids_.next()}};
  }

  int64_t insert_queue(int64_t product_id, const char* status, const json& accumulated,
                       const json& context, const std::optional<std::string>& current_step) {
    insert_queue_.bind(1, product_id)
        .bind(2, status)
        .bind(3, accumulated.dump())
        .bind(4, context.dump())
        .bind(5, ++position_)
        .bind(6, kNow)
        .bind(7, kNow);
    if (current_step) insert_queue_.bind(8, *current_step);
    insert_queue_.run();
    return db_.last_insert_id();
  }

  // Engine::enqueue and Engine::insert_step: a pending listing, the queue,
  // its first step.
  void queued_publish(int64_t product_id) {
    insert_listing_.bind(1, product_id).bind(2, "pending").bind(3, kNow).bind(4, kNow).run();
    json context = new_context();
    int64_t queue_id =
        insert_queue(product_id, "queued", json::object(), context, std::string("upload_photo_1"));
    insert_task_.bind(1, queue_id)
        .bind(2, "upload_photo_1")
        .bind(3, "/api/v2/photos")
        .bind(4, "multipart")
        .bind(5, upload_payload(context).dump())
        .bind(6, "pending")
        .bind(7, position_)
        .bind(8, kNow)
        .run();
  }

  // A publish the engine ran to its end with an extension answering like
  // Vinted (tests/integration/harness.cpp vinted_response): three successful
  // steps, each with its attempt, the queue completed, the listing published.
  void completed_publish(int64_t product_id, const Product& product) {
    json context = new_context();
    std::string session = context["upload_session_id"];
    // Task ids are known before the rows are written, as the answers name them.
    int64_t upload = next_task_id_++, draft = next_task_id_++, complete = next_task_id_++;
    json photo = {{"id", 1000 + upload},
                  {"url", "https://images.example/" + std::to_string(1000 + upload)}};
    json draft_answer = {{"draft", {{"id", 5000 + draft}, {"status", "draft"}}}};
    int64_t item_id = 9000 + complete;
    std::string url = "https://www.vinted.fr/items/" + std::to_string(item_id);

    // accumulated_data as VintedPublish::accumulate leaves it after each step.
    json after_upload = {{"photo_ids", json::array({photo["id"]})},
                         {"photos", json::array({photo})}};
    json after_draft = after_upload;
    after_draft["draft_id"] = 5000 + draft;
    json after_all = after_draft;
    after_all["vinted_id"] = item_id;
    after_all["url"] = url;
    after_all["listing_created"] = true;

    int64_t queue_id = insert_queue(product_id, "completed", after_all, context, std::nullopt);
    finished_task(upload, queue_id, "upload_photo_1", "/api/v2/photos", "multipart",
                  upload_payload(context), photo, draft, "processing");
    finished_task(draft, queue_id, "create_draft", "/api/v2/item_upload/drafts", "json",
                  {{"draft", item_payload(product, after_upload, context)},
                   {"parcel", nullptr},
                   {"upload_session_id", session}},
                  draft_answer, complete, "processing");
    finished_task(complete, queue_id, "complete_draft",
                  "/api/v2/item_upload/drafts/" + std::to_string(5000 + draft) + "/completion",
                  "json",
                  {{"draft", item_payload(product, after_draft, context)},
                   {"feedback_id", nullptr},
                   {"push_up", false},
                   {"parcel", nullptr},
                   {"upload_session_id", session}},
                  {{"item", {{"id", item_id}, {"url", url}}}}, std::nullopt, "completed");
    insert_published_.bind(1, product_id)
        .bind(2, std::to_string(item_id))
        .bind(3, url)
        .bind(4, kNow)
        .run();
  }

  void published_listing(int64_t product_id) {
    int64_t item_id = 9000 + product_id;
    insert_published_.bind(1, product_id)
        .bind(2, std::to_string(item_id))
        .bind(3, "https://www.vinted.fr/items/" + std::to_string(item_id))
        .bind(4, kNow)
        .run();
  }

  // A step that succeeded at its first attempt, with the attempt's row
  // (Engine::lease_task, Engine::advance, Engine::finish_attempt).
  void finished_task(int64_t task_id, int64_t queue_id, const std::string& step,
                     const std::string& path, const char* body, const json& payload,
                     const json& answer, std::optional<int64_t> next_task_id,
                     const char* queue_status) {
    insert_finished_task_.bind(1, task_id)
        .bind(2, queue_id)
        .bind(3, step)
        .bind(4, path)
        .bind(5, body)
        .bind(6, payload.dump())
        .bind(7, answer.dump())
        .bind(8, position_)
        .bind(9, kNow)
        .run();
    // The report as the extension sends it (extension/src/task-runner.js),
    // whose hash Service stores as the report's fingerprint.
    json report = {{"task_id", task_id}, {"success", true}, {"http_status", 200},
                   {"result", answer},   {"attempt", 1},    {"lease_next", true}};
    json reply = {{"success", true},
                  {"task_id", task_id},
                  {"status", "success"},
                  {"next_task_id", next_task_id ? json(*next_task_id) : json(nullptr)},
                  {"queue_status", queue_status},
                  {"message", "Task " + std::to_string(task_id) + " completed successfully"}};
    insert_attempt_.bind(1, task_id)
        .bind(2, kNow)
        .bind(3, kNow)
        .bind(4, sha256_hex(report.dump()))
        .bind(5, reply.dump())
        .run();
  }

  Db& db_;
  Uuids uuids_;
  Product product_;
  std::string attributes_;
  Photo photo_;
  int64_t template_id_ = 0;
  bool template_used_ = false;
  int64_t copies_ = 0;
  int64_t position_ = 0;
  int64_t next_task_id_ = 1;
  Stmt insert_product_ = db_.prepare(
      "INSERT INTO products (title, description, price_cents, currency, attributes, created_at,"
      " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  Stmt insert_image_ = db_.prepare(
      "INSERT INTO product_images (product_id, position, blob_sha256, filename, source)"
      " VALUES (?, 0, ?, ?, ?)");
  Stmt insert_listing_ = db_.prepare(
      "INSERT INTO listings (product_id, platform, status, created_at, updated_at)"
      " VALUES (?, 'vinted', ?, ?, ?)");
  Stmt insert_published_ = db_.prepare(
      "INSERT INTO listings (product_id, platform, status, remote_id, url, created_at, updated_at,"
      " published_at) VALUES (?1, 'vinted', 'published', ?2, ?3, ?4, ?4, ?4)");
  // total_steps: VintedPublish::total_steps (one photo, two draft steps),
  // which Engine::insert_step writes with every step.
  Stmt insert_queue_ = db_.prepare(
      "INSERT INTO plugin_queue (platform, operation, product_id, status, accumulated_data,"
      " context_data, position, created_at, updated_at, current_step, total_steps)"
      " VALUES ('vinted', 'publish_product', ?, ?, ?, ?, ?, ?, ?, ?, 3)");
  Stmt insert_task_ = db_.prepare(
      "INSERT INTO plugin_tasks (queue_id, platform, step, http_method, path, body_kind, payload,"
      " status, max_retries, position, created_at)"
      " VALUES (?, 'vinted', ?, 'POST', ?, ?, ?, ?, 3, ?, ?)");
  Stmt insert_finished_task_ = db_.prepare(
      "INSERT INTO plugin_tasks (id, queue_id, platform, step, http_method, path, body_kind,"
      " payload, status, result, max_retries, position, created_at, started_at, completed_at)"
      " VALUES (?1, ?2, 'vinted', ?3, 'POST', ?4, ?5, ?6, 'success', ?7, 3, ?8, ?9, ?9, ?9)");
  Stmt insert_attempt_ = db_.prepare(
      "INSERT INTO task_attempts (task_id, attempt, lease_owner, started_at, finished_at, outcome,"
      " http_status, request_hash, response)"
      " VALUES (?1, 1, 'bench-seed', ?2, ?3, 'success', 200, ?4, ?5)");
};

void remove_database(const fs::path& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal", "-commits"}) {
    fs::remove(path.string() + suffix);
  }
  fs::remove_all(path.string() + "-blobs");
  fs::remove_all(path.string() + "-owners");
}

}  // namespace

std::string Shape::name() const {
  return "done" + std::to_string(completed) + "-queued" + std::to_string(queued) + "-listed" +
         std::to_string(listed);
}

namespace {
std::string cache_prefix(const fs::path& base) {
  return "seed" + std::to_string(kSeedFormat) + "-" + schema_key(base) + "-";
}
}  // namespace

fs::path cache_path(const fs::path& cache_dir, const fs::path& base, const Shape& shape) {
  return cache_dir / (cache_prefix(base) + shape.name() + ".db");
}

void remove_stale_databases(const fs::path& cache_dir, const fs::path& base) {
  if (!fs::exists(cache_dir)) return;
  std::string current = cache_prefix(base);
  for (const auto& entry : fs::directory_iterator(cache_dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("seed", 0) == 0 && name.rfind(current, 0) != 0) fs::remove_all(entry.path());
  }
}

void build_database(const fs::path& base, const Shape& shape, const fs::path& cached) {
  fs::create_directories(cached.parent_path());
  // Built under another name and renamed at the end: an interrupted build
  // leaves nothing that looks finished.
  fs::path building = cached.string() + ".building";
  remove_database(building);
  fs::copy_file(base, building);
  fs::copy(base.string() + "-blobs", building.string() + "-blobs", fs::copy_options::recursive);
  {
    Db db(building);
    // Nothing here needs to survive a crash (a half-built file is thrown
    // away), so no journal, no sync, and one transaction.
    db.exec("PRAGMA journal_mode=OFF");
    db.exec("PRAGMA synchronous=OFF");
    db.exec("PRAGMA cache_size=-262144");
    db.exec("BEGIN");
    Seeder(db).seed(shape);
    db.exec("COMMIT");
    // The host opens it in WAL mode, as a database it created.
    db.exec("PRAGMA journal_mode=WAL");
  }
  fs::remove_all(cached.string() + "-blobs");  // left by a build interrupted here
  fs::rename(building.string() + "-blobs", cached.string() + "-blobs");
  fs::rename(building, cached);
}

fs::path copy_database(const fs::path& source, const fs::path& dir) {
  fs::create_directories(dir);
  fs::path target = dir / "stoflow.db";
  remove_database(target);
  fs::copy_file(source, target);
  fs::copy(source.string() + "-blobs", target.string() + "-blobs", fs::copy_options::recursive);
  return target;
}

int64_t count_rows(const fs::path& db_path, const std::string& table) {
  Db db(db_path);
  auto q = db.prepare(("SELECT COUNT(*) FROM " + table).c_str());
  q.step();
  return q.int64(0);
}

}  // namespace stoflow::bench
