#include "store/products.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
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
  static const std::set<std::string> keys = {"title", "description", "price_cents", "currency",
                                             "images"};
  return keys;
}

// Set by the store: a product exported with `products.list` imports again as a
// new product.
const std::set<std::string>& assigned_keys() {
  static const std::set<std::string> keys = {"id", "created_at", "updated_at"};
  return keys;
}

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
  std::string title;
  std::string description;
  int64_t price_cents = 0;
  std::string currency = "EUR";
  json attributes = json::object();
  std::vector<std::string> image_sources;
  std::vector<ProductImage> images;
};

std::string product_label(const ProductDraft& draft, size_t index) {
  return "product #" + std::to_string(index + 1) + " (\"" + draft.title + "\")";
}

[[noreturn]] void reject(size_t index, const std::string& why) {
  throw AppError(ErrorCode::kInvalidParams,
                 "product #" + std::to_string(index + 1) + " in the file: " + why,
                 json{{"product_index", index}});
}

ProductDraft parse_product(const json& item, size_t index) {
  if (!item.is_object()) reject(index, "must be a JSON object");
  ProductDraft draft;
  auto title = item.find("title");
  if (title == item.end() || !title->is_string() || title->get<std::string>().empty()) {
    reject(index, "\"title\" must be a non-empty string");
  }
  draft.title = *title;
  if (auto d = item.find("description"); d != item.end() && !d->is_null()) {
    if (!d->is_string()) reject(index, "\"description\" must be a string");
    draft.description = *d;
  }
  auto price = item.find("price_cents");
  if (price == item.end() || !price->is_number_integer() || price->get<int64_t>() < 0) {
    reject(index, "\"price_cents\" must be a whole number of cents, 0 or more");
  }
  draft.price_cents = *price;
  if (auto c = item.find("currency"); c != item.end()) {
    if (!c->is_string() || c->get<std::string>().size() != 3) {
      reject(index, "\"currency\" must be a three-letter ISO 4217 code such as \"EUR\"");
    }
    draft.currency = *c;
    for (auto& ch : draft.currency)
      ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  if (auto images = item.find("images"); images != item.end()) {
    if (!images->is_array()) reject(index, "\"images\" must be an array of paths or URLs");
    if (images->size() > kMaxImagesPerProduct) {
      reject(index, "at most " + std::to_string(kMaxImagesPerProduct) + " images per product");
    }
    for (const auto& source : *images) {
      if (!source.is_string() || source.get<std::string>().empty()) {
        reject(index, "every entry of \"images\" must be a non-empty string");
      }
      draft.image_sources.push_back(source);
    }
  }
  // Fields of the seller's own catalogue (sku, notes, ...) are kept with the
  // product and shown back, so nothing they imported is silently dropped.
  for (const auto& [key, value] : item.items()) {
    if (core_keys().contains(key) || assigned_keys().contains(key)) continue;
    if (platform_keys().contains(key) && !value.is_object()) {
      reject(index, "\"" + key + "\" must be an object of attributes");
    }
    draft.attributes[key] = value;
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
              {"images", images},
              {"created_at", product.created_at},
              {"updated_at", product.updated_at}};
  for (const auto& [key, value] : product.attributes.items()) {
    if (!out.contains(key)) out[key] = value;
  }
  return out;
}

std::vector<int64_t> ProductStore::import(const json& products,
                                          const std::optional<fs::path>& base_dir,
                                          const PhotoFetcher& fetch_url,
                                          const ImportOptions& options) {
  if (!products.is_array()) {
    throw invalid_params("the import file must hold a JSON array of products");
  }
  std::vector<ProductDraft> drafts;
  for (size_t i = 0; i < products.size(); ++i) drafts.push_back(parse_product(products[i], i));
  // Photos are copied before the transaction: blobs are content-addressed, so
  // a copy left behind by a later failure is harmless and reused next time.
  for (size_t i = 0; i < drafts.size(); ++i) {
    int position = 0;
    for (const auto& source : drafts[i].image_sources) {
      drafts[i].images.push_back(
          store_image(blobs_, source, base_dir, fetch_url, options, drafts[i], i, position++));
    }
  }

  std::vector<int64_t> ids;
  Transaction tx(db_);
  std::string now = now_iso();
  for (const auto& draft : drafts) {
    db_.exec(
        "INSERT INTO products (title, description, price_cents, currency, attributes, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        draft.title, draft.description, draft.price_cents, draft.currency, draft.attributes.dump(),
        now, now);
    int64_t id = db_.last_insert_id();
    for (const auto& image : draft.images) {
      db_.exec(
          "INSERT OR IGNORE INTO blobs (sha256, size, content_type, created_at) VALUES (?, ?, ?, "
          "?)",
          image.sha256, image.size, image.content_type, now);
      db_.exec(
          "INSERT INTO product_images (product_id, position, blob_sha256, filename, source)"
          " VALUES (?, ?, ?, ?, ?)",
          id, image.position, image.sha256, image.filename, image.source);
    }
    ids.push_back(id);
  }
  tx.commit();
  return ids;
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
    "SELECT id, title, description, price_cents, currency, attributes, created_at, updated_at"
    " FROM products";

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
