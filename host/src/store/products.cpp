#include "store/products.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <set>

#include "platform/files.h"
#include "util/clock.h"
#include "util/errors.h"
#include "util/unique_fd.h"

namespace stoflow::store {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxImagesPerProduct = 20;

const std::set<std::string>& platform_keys() {
  static const std::set<std::string> keys = {"vinted", "ebay", "etsy"};
  return keys;
}

const std::set<std::string>& core_keys() {
  static const std::set<std::string> keys = {"title",    "description", "price_cents", "currency",
                                             "quantity", "sku",         "images"};
  return keys;
}

// Set by the store and ignored in a file ("id" names the product to update).
const std::set<std::string>& assigned_keys() {
  static const std::set<std::string> keys = {"created_at", "updated_at"};
  return keys;
}

constexpr int64_t kMaxQuantity = 10000;
constexpr size_t kMaxSkuLength = 100;

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// The scheme of a source written like a URL ("HTTP" in "HTTP://host/a.jpg"),
// or nullopt for a path. RFC 3986: a letter, then letters, digits, "+", "-"
// or ".", then "://". A path such as "photos/a.png" has a "/" before any "://".
std::optional<std::string> url_scheme(const std::string& source) {
  auto end = source.find("://");
  if (end == std::string::npos || end == 0) return std::nullopt;
  if (!std::isalpha(static_cast<unsigned char>(source[0]))) return std::nullopt;
  for (size_t i = 1; i < end; ++i) {
    unsigned char c = static_cast<unsigned char>(source[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return std::nullopt;
  }
  return source.substr(0, end);
}

struct ProductDraft {
  std::optional<int64_t> target;  // the product this entry updates
  ProductChanges changes;
  std::vector<ProductImage> images;
};

std::string product_label(const ProductDraft& draft, size_t index) {
  return "product #" + std::to_string(index + 1) + " (\"" + draft.changes.title.value_or("") +
         "\")";
}

[[noreturn]] void reject(size_t index, const std::string& why) {
  throw AppError(ErrorCode::kInvalidParams,
                 "product #" + std::to_string(index + 1) + " in the file: " + why,
                 json{{"product_index", index}});
}

using Fail = std::function<void(const std::string&)>;  // throws

// The fields of one product, each checked; only those present are set.
// Unknown keys are kept as the seller's own attributes when keep_unknown.
ProductChanges read_fields(const json& item, const Fail& fail, bool keep_unknown) {
  ProductChanges out;
  if (auto t = item.find("title"); t != item.end()) {
    if (!t->is_string() || t->get<std::string>().empty()) {
      fail("\"title\" must be a non-empty string");
    }
    out.title = t->get<std::string>();
  }
  if (auto d = item.find("description"); d != item.end() && !d->is_null()) {
    if (!d->is_string()) fail("\"description\" must be a string");
    out.description = d->get<std::string>();
  }
  if (auto price = item.find("price_cents"); price != item.end()) {
    if (!price->is_number_integer() || price->get<int64_t>() < 0) {
      fail("\"price_cents\" must be a whole number of cents, 0 or more");
    }
    out.price_cents = price->get<int64_t>();
  }
  if (auto c = item.find("currency"); c != item.end()) {
    if (!c->is_string() || c->get<std::string>().size() != 3) {
      fail("\"currency\" must be a three-letter ISO 4217 code such as \"EUR\"");
    }
    std::string currency = *c;
    for (auto& ch : currency) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    out.currency = currency;
  }
  if (auto q = item.find("quantity"); q != item.end()) {
    if (!q->is_number_integer() || q->get<int64_t>() < 0 || q->get<int64_t>() > kMaxQuantity) {
      fail("\"quantity\" must be a whole number from 0 to " + std::to_string(kMaxQuantity));
    }
    out.quantity = q->get<int64_t>();
  }
  if (auto k = item.find("sku"); k != item.end() && !k->is_null()) {
    if (!k->is_string() || k->get<std::string>().empty() ||
        k->get<std::string>().size() > kMaxSkuLength) {
      fail("\"sku\" must be a non-empty string of at most " + std::to_string(kMaxSkuLength) +
           " characters");
    }
    out.sku = k->get<std::string>();
  }
  if (auto images = item.find("images"); images != item.end()) {
    if (!images->is_array()) fail("\"images\" must be an array of paths or URLs");
    if (images->size() > kMaxImagesPerProduct) {
      fail("at most " + std::to_string(kMaxImagesPerProduct) + " images per product");
    }
    std::vector<std::string> sources;
    for (const auto& entry : *images) {
      // An exported product's photos are objects: their "source" is read again.
      const json& source = entry.is_object() && entry.contains("source") ? entry["source"] : entry;
      if (!source.is_string() || source.get<std::string>().empty()) {
        fail("every entry of \"images\" must be a non-empty string");
      }
      sources.push_back(source);
    }
    out.image_sources = sources;
  }
  // Fields of the seller's own catalogue (notes, ...) are kept with the
  // product and shown back, so nothing they imported is silently dropped.
  for (const auto& [key, value] : item.items()) {
    if (core_keys().contains(key) || assigned_keys().contains(key) || key == "id") continue;
    if (platform_keys().contains(key)) {
      if (!value.is_object()) fail("\"" + key + "\" must be an object of attributes");
    } else if (!keep_unknown) {
      fail("\"" + key + "\" is not a field of a product that can be changed");
    }
    out.attributes[key] = value;
  }
  return out;
}

ProductDraft parse_product(const json& item, size_t index) {
  if (!item.is_object()) reject(index, "must be a JSON object");
  Fail fail = [index](const std::string& why) { reject(index, why); };
  ProductDraft draft;
  if (auto id = item.find("id"); id != item.end()) {
    if (!id->is_number_integer() || id->get<int64_t>() < 1) {
      reject(index, "\"id\" must be the id of a product in the catalogue (a whole number)");
    }
    draft.target = id->get<int64_t>();
  }
  draft.changes = read_fields(item, fail, true);
  if (!draft.changes.title) reject(index, "\"title\" must be a non-empty string");
  if (!draft.changes.price_cents) {
    reject(index, "\"price_cents\" must be a whole number of cents, 0 or more");
  }
  return draft;
}

// Both paths absolute and normal (canonical or lexically normal).
bool is_within(const fs::path& path, const fs::path& dir) {
  auto [d, p] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  return d == dir.end();
}

// Where an opened file really is, as the kernel tracks it; nullopt where the
// system cannot tell (then the check made on the name before opening stands).
std::string outside(const fs::path& folder) {
  return "outside the catalogue's folder " + folder.string() +
         "; photos must be in that folder or below it (pass --allow-outside-photos to import "
         "photos from elsewhere)";
}

// Opens a photo named by a catalogue for reading, checked so that a hostile
// catalogue (one the seller downloaded, or a folder a supplier sent) cannot
// make the import read anything but the seller's photos:
// - the path must stay inside the catalogue's folder, with every symbolic link
//   resolved, unless the seller passed --allow-outside-photos. A link inside
//   the folder to another file inside it is fine;
// - O_NONBLOCK, because opening a FIFO for reading waits for a writer forever
//   (put_fd then refuses anything but a regular file, on this descriptor);
// - O_NOFOLLOW on the resolved path, and the containment checked again on the
//   descriptor, so a name swapped for a link after the check is not followed.
StoredBlob copy_local_photo(BlobStore& blobs, const std::string& source, const fs::path& base_dir,
                            const ImportOptions& options, const std::string& what) {
  std::error_code ec;
  fs::path folder = fs::canonical(base_dir, ec);
  if (ec) {
    throw AppError(ErrorCode::kNotFound, "the catalogue's folder " + base_dir.string() +
                                             " cannot be read: " + ec.message());
  }
  fs::path given = platform::from_utf8(source);  // a JSON string: UTF-8
  fs::path path = given.is_absolute() ? given : folder / given;
  // By the name first ("../x.png", "/etc/x"), for the plainer message.
  fs::path named = path.lexically_normal();
  bool named_inside = is_within(named, folder) ||
                      (given.is_absolute() && is_within(named, base_dir.lexically_normal()));
  if (!options.allow_outside_photos && !named_inside) {
    throw invalid_params(what + " is " + outside(folder));
  }
  // Then where the name really leads, with every link resolved as the kernel
  // resolves it ("link/../x" is the parent of the link's target).
  fs::path real = fs::canonical(path, ec);
  if (ec) {
    throw AppError(ErrorCode::kNotFound,
                   what + " cannot be opened: " + ec.message() + " (" + named.string() + ")");
  }
  if (!options.allow_outside_photos && !is_within(real, folder)) {
    throw invalid_params(what + " leads to " + real.string() + " through a symbolic link, " +
                         outside(folder));
  }
  int fd = platform::open_file(real, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP) {
      throw invalid_params(what + " changed while it was imported: " + real.string() +
                           " is now a symbolic link");
    }
    throw AppError(ErrorCode::kNotFound, what + " cannot be opened: " + std::strerror(errno) +
                                             " (" + real.string() + ")");
  }
  UniqueFd opened(fd);
  if (!options.allow_outside_photos) {
    if (auto now = platform::opened_path(fd); now && !is_within(*now, folder)) {
      throw invalid_params(what + " changed while it was imported: it now leads to " +
                           now->string() + ", " + outside(folder));
    }
  }
  return blobs.put_fd(fd, what);
}

ProductImage store_image(BlobStore& blobs, const std::string& source,
                         const std::optional<fs::path>& base_dir, const PhotoFetcher& fetch_url,
                         const ImportOptions& options, const ProductDraft& draft, size_t index,
                         int position) {
  StoredBlob blob;
  std::string filename;
  std::string stored_source = source;
  std::string what = "photo \"" + source + "\"";
  try {
    if (auto scheme = url_scheme(source)) {
      std::string name = *scheme;
      std::transform(name.begin(), name.end(), name.begin(), lower);
      if (name != "http" && name != "https") {
        throw invalid_params(what + ": the scheme " + *scheme +
                             " is not supported; use https://..." +
                             (base_dir ? " or a path relative to the catalogue file" : ""));
      }
      if (!fetch_url) throw invalid_params("photo URLs cannot be downloaded by this command");
      // "HTTP://" is http: libcurl and the stored source get the usual spelling.
      stored_source = name + source.substr(scheme->size());
      blob = fetch_url(stored_source);
      filename = stored_source.substr(stored_source.find_last_of('/') + 1);
      if (auto q = filename.find_first_of("?#"); q != std::string::npos) filename.resize(q);
    } else {
      if (!base_dir) {
        throw invalid_params(what + " is a local path; only http(s) photo URLs are accepted here");
      }
      blob = copy_local_photo(blobs, source, *base_dir, options, what);
      filename = platform::utf8(platform::from_utf8(source).filename());
    }
  } catch (const AppError& e) {
    throw AppError(e.code(), product_label(draft, index) + ": " + e.what(),
                   json{{"product_index", index}, {"image", source}});
  } catch (const std::exception& e) {
    // The store's own failures (a read-only disk, a full one): still say which
    // photo of which product was being copied.
    throw AppError(ErrorCode::kInternal,
                   product_label(draft, index) + ": " + what + ": " + e.what(),
                   json{{"product_index", index}, {"image", source}});
  }
  if (filename.empty()) filename = "photo-" + std::to_string(position + 1);
  return {position, blob.sha256, filename, blob.content_type, blob.size, stored_source};
}

}  // namespace

const json& Product::platform_attributes(const std::string& platform) const {
  static const json empty = json::object();
  auto it = attributes.find(platform);
  return it == attributes.end() ? empty : *it;
}

json to_json(const Product& product) {
  json images = json::array();
  for (const auto& image : product.images) {
    images.push_back({{"position", image.position},
                      {"blob", image.sha256},
                      {"filename", image.filename},
                      {"content_type", image.content_type},
                      {"size", image.size},
                      {"source", image.source}});
  }
  json out = {{"id", product.id},
              {"title", product.title},
              {"description", product.description},
              {"price_cents", product.price_cents},
              {"currency", product.currency},
              {"quantity", product.quantity},
              {"sku", product.sku ? json(*product.sku) : json(nullptr)},
              {"images", images},
              {"created_at", product.created_at},
              {"updated_at", product.updated_at}};
  for (const auto& [key, value] : product.attributes.items()) {
    if (!out.contains(key)) out[key] = value;
  }
  return out;
}

ProductChanges parse_changes(const json& fields) {
  if (!fields.is_object()) throw invalid_params("the changes must be a JSON object");
  Fail fail = [](const std::string& why) { throw invalid_params(why); };
  ProductChanges changes = read_fields(fields, fail, false);
  if (fields.contains("id")) fail("\"id\" cannot be changed");
  return changes;
}

ImportResult ProductStore::import_detailed(const json& products,
                                           const std::optional<fs::path>& base_dir,
                                           const PhotoFetcher& fetch_url,
                                           const ImportOptions& options) {
  if (!products.is_array()) {
    throw invalid_params("the import file must hold a JSON array of products");
  }
  std::vector<ProductDraft> drafts;
  for (size_t i = 0; i < products.size(); ++i) drafts.push_back(parse_product(products[i], i));
  // Which product each entry updates, checked before any photo is copied:
  // "id" must exist, a "sku" names its product, and no product or sku twice.
  std::set<std::string> skus;
  std::set<int64_t> targets;
  for (size_t i = 0; i < drafts.size(); ++i) {
    auto& draft = drafts[i];
    const auto& sku = draft.changes.sku;
    if (sku && !skus.insert(*sku).second) {
      reject(i, "\"sku\" \"" + *sku + "\" is given to an earlier product of the file too");
    }
    std::optional<int64_t> owner;
    if (sku) {
      auto q = db_.query("SELECT id FROM products WHERE sku = ?", *sku);
      if (q.step()) owner = q.int64(0);
    }
    if (draft.target) {
      if (!find(*draft.target)) {
        reject(i, "\"id\": product " + std::to_string(*draft.target) +
                      " does not exist (leave \"id\" out to add a new product)");
      }
      if (owner && *owner != *draft.target) {
        reject(i, "\"sku\" \"" + *sku + "\" belongs to product " + std::to_string(*owner));
      }
    } else {
      draft.target = owner;
    }
    if (draft.target && !targets.insert(*draft.target).second) {
      reject(i, "product " + std::to_string(*draft.target) +
                    " is updated by an earlier entry of the file too");
    }
  }
  // Photos are copied before the transaction: blobs are content-addressed, so
  // a copy left behind by a later failure is harmless and reused next time.
  for (size_t i = 0; i < drafts.size(); ++i) {
    int position = 0;
    for (const auto& source :
         drafts[i].changes.image_sources.value_or(std::vector<std::string>{})) {
      drafts[i].images.push_back(
          store_image(blobs_, source, base_dir, fetch_url, options, drafts[i], i, position++));
    }
  }

  ImportResult result;
  Transaction tx(db_);
  std::string now = now_iso();
  for (const auto& draft : drafts) {
    const auto& c = draft.changes;
    int64_t id = 0;
    if (draft.target) {
      id = *draft.target;
      std::optional<std::vector<ProductImage>> images;
      if (c.image_sources) images = draft.images;
      apply(id, c, images, now);
      result.updated.push_back(id);
    } else {
      db_.exec(
          "INSERT INTO products (title, description, price_cents, currency, quantity, sku,"
          " attributes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          *c.title, c.description.value_or(""), *c.price_cents, c.currency.value_or("EUR"),
          c.quantity.value_or(1), c.sku, c.attributes.dump(), now, now);
      id = db_.last_insert_id();
      write_images(id, draft.images, now);
      result.added.push_back(id);
    }
    result.ids.push_back(id);
  }
  tx.commit();
  return result;
}

void ProductStore::write_images(int64_t id, const std::vector<ProductImage>& images,
                                const std::string& now) {
  for (const auto& image : images) {
    db_.exec(
        "INSERT OR IGNORE INTO blobs (sha256, size, content_type, created_at) VALUES (?, ?, ?, ?)",
        image.sha256, image.size, image.content_type, now);
    db_.exec(
        "INSERT INTO product_images (product_id, position, blob_sha256, filename, source)"
        " VALUES (?, ?, ?, ?, ?)",
        id, image.position, image.sha256, image.filename, image.source);
  }
}

std::vector<OutOfDateListing> ProductStore::apply(
    int64_t id, const ProductChanges& c, const std::optional<std::vector<ProductImage>>& images,
    const std::string& now) {
  if (c.title) db_.exec("UPDATE products SET title = ? WHERE id = ?", *c.title, id);
  if (c.description) {
    db_.exec("UPDATE products SET description = ? WHERE id = ?", *c.description, id);
  }
  if (c.price_cents) {
    db_.exec("UPDATE products SET price_cents = ? WHERE id = ?", *c.price_cents, id);
  }
  if (c.currency) db_.exec("UPDATE products SET currency = ? WHERE id = ?", *c.currency, id);
  if (c.quantity) db_.exec("UPDATE products SET quantity = ? WHERE id = ?", *c.quantity, id);
  if (c.sku) {
    auto q = db_.query("SELECT id FROM products WHERE sku = ? AND id != ?", *c.sku, id);
    if (q.step()) {
      throw invalid_params("\"sku\" \"" + *c.sku + "\" belongs to product " +
                           std::to_string(q.int64(0)));
    }
    db_.exec("UPDATE products SET sku = ? WHERE id = ?", *c.sku, id);
  }
  if (!c.attributes.empty()) {
    json attributes = json::object();
    {
      auto q = db_.query("SELECT attributes FROM products WHERE id = ?", id);
      if (q.step()) attributes = json::parse(q.text(0));
    }
    for (const auto& [key, value] : c.attributes.items()) attributes[key] = value;
    db_.exec("UPDATE products SET attributes = ? WHERE id = ?", attributes.dump(), id);
  }
  if (images) {
    db_.exec("DELETE FROM product_images WHERE product_id = ?", id);
    write_images(id, *images, now);
  }
  db_.exec("UPDATE products SET updated_at = ? WHERE id = ?", now, id);
  db_.exec("UPDATE listings SET out_of_date = 1 WHERE product_id = ? AND status = 'published'", id);
  std::vector<OutOfDateListing> out;
  auto q = db_.query(
      "SELECT platform, id FROM listings WHERE product_id = ? AND status = 'published'"
      " ORDER BY platform",
      id);
  while (q.step()) out.push_back({q.text(0), q.int64(1)});
  return out;
}

UpdateResult ProductStore::update(int64_t id, const ProductChanges& changes,
                                  const std::optional<fs::path>& base_dir,
                                  const PhotoFetcher& fetch_url, const ImportOptions& options) {
  get(id);  // not_found before any photo is fetched
  std::optional<std::vector<ProductImage>> images;
  if (changes.image_sources) {
    ProductDraft draft{id, changes, {}};
    images.emplace();
    int position = 0;
    for (const auto& source : *changes.image_sources) {
      images->push_back(
          store_image(blobs_, source, base_dir, fetch_url, options, draft, 0, position++));
    }
  }
  UpdateResult result;
  Transaction tx(db_);
  if (!find(id)) throw not_found("product " + std::to_string(id) + " does not exist");
  result.listings_out_of_date = apply(id, changes, images, now_iso());
  tx.commit();
  result.product = get(id);
  return result;
}

std::optional<std::string> ProductStore::photo_type(const std::string& sha256) {
  auto q = db_.query("SELECT content_type FROM blobs WHERE sha256 = ?", sha256);
  if (!q.step()) return std::nullopt;
  return q.text(0);
}

std::vector<ProductImage> ProductStore::load_images(int64_t product_id) {
  std::vector<ProductImage> images;
  auto q = db_.query(
      "SELECT i.position, i.blob_sha256, i.filename, b.content_type, b.size, i.source"
      " FROM product_images i JOIN blobs b ON b.sha256 = i.blob_sha256"
      " WHERE i.product_id = ? ORDER BY i.position",
      product_id);
  while (q.step()) {
    images.push_back(
        {static_cast<int>(q.int64(0)), q.text(1), q.text(2), q.text(3), q.int64(4), q.text(5)});
  }
  return images;
}

namespace {
constexpr const char* kProductColumns =
    "SELECT id, title, description, price_cents, currency, attributes, created_at, updated_at,"
    " quantity, sku FROM products";

Product read_product(Statement& q) {
  Product p;
  p.id = q.int64(0);
  p.title = q.text(1);
  p.description = q.text(2);
  p.price_cents = q.int64(3);
  p.currency = q.text(4);
  p.attributes = json::parse(q.text(5));
  p.created_at = q.text(6);
  p.updated_at = q.text(7);
  p.quantity = q.int64(8);
  if (!q.is_null(9)) p.sku = q.text(9);
  return p;
}
}  // namespace

std::optional<Product> ProductStore::find(int64_t id) {
  auto q = db_.query(std::string(kProductColumns) + " WHERE id = ?", id);
  if (!q.step()) return std::nullopt;
  Product product = read_product(q);
  product.images = load_images(id);
  return product;
}

Product ProductStore::get(int64_t id) {
  auto product = find(id);
  if (!product) throw not_found("product " + std::to_string(id) + " does not exist");
  return *product;
}

std::vector<Product> ProductStore::list(int limit, int64_t after_id) {
  std::vector<Product> products;
  auto q = db_.query(std::string(kProductColumns) + " WHERE id > ? ORDER BY id LIMIT ?", after_id,
                     limit);
  while (q.step()) products.push_back(read_product(q));
  for (auto& product : products) product.images = load_images(product.id);
  return products;
}

}  // namespace stoflow::store
