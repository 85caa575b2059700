#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/blob_store.h"
#include "store/database.h"

namespace stoflow::store {

struct ProductImage {
  int position = 0;
  std::string sha256;
  std::string filename;
  std::string content_type;
  int64_t size = 0;
  std::string source;  // the path or URL it was imported from
};

struct Product {
  int64_t id = 0;
  std::string title;
  std::string description;
  int64_t price_cents = 0;
  std::string currency;
  int64_t quantity = 1;
  std::optional<std::string> sku;  // the seller's own reference, unique when given
  nlohmann::json attributes = nlohmann::json::object();  // per platform: {"vinted": {...}}
  std::vector<ProductImage> images;
  std::string created_at;
  std::string updated_at;

  // The platform's attribute object, or an empty object.
  const nlohmann::json& platform_attributes(const std::string& platform) const;
};

nlohmann::json to_json(const Product& product);

// What an update changes: only the fields given. Photos and each platform
// block (or other key of the seller's) given replace the stored ones whole.
struct ProductChanges {
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::optional<int64_t> price_cents;
  std::optional<std::string> currency;
  std::optional<int64_t> quantity;
  std::optional<std::string> sku;
  std::optional<std::vector<std::string>> image_sources;  // paths or URLs, as import takes
  nlohmann::json attributes = nlohmann::json::object();   // keys given replace
};

// Reads the fields of products.update / PATCH: the same rules and messages as
// import. Throws invalid_params naming the field.
ProductChanges parse_changes(const nlohmann::json& fields);

// A listing that was published before the product changed: what is online
// now differs from the catalogue until it is sent again.
struct OutOfDateListing {
  std::string platform;
  int64_t listing_id = 0;
};

struct UpdateResult {
  Product product;
  std::vector<OutOfDateListing> listings_out_of_date;
};

struct ImportResult {
  std::vector<int64_t> ids;  // in the file's order
  std::vector<int64_t> added;
  std::vector<int64_t> updated;
};

// Downloads a photo URL into the blob store (libcurl in production).
using PhotoFetcher = std::function<StoredBlob(const std::string& url)>;

struct ImportOptions {
  // Local photo paths may leave the catalogue file's folder (absolute paths,
  // "../", symbolic links to elsewhere). Off unless the seller asks for it
  // (`products import --allow-outside-photos`): a catalogue written by someone
  // else must not pick files from the rest of the disk for upload.
  bool allow_outside_photos = false;
};

class ProductStore {
 public:
  ProductStore(Database& db, BlobStore& blobs) : db_(db), blobs_(blobs) {}

  // Validates every product, copies every photo into the blob store, then
  // inserts all products in one transaction: a bad product anywhere in the
  // file means nothing is imported. Relative photo paths resolve against
  // base_dir and must stay inside it (unless options allow otherwise); without
  // one (remote callers) only http(s) photo URLs are accepted. Every photo
  // must be a JPEG, PNG or WebP image by its bytes.
  // An entry with "id" updates that product (which must exist); one whose
  // "sku" is a product's updates it; any other is added.
  ImportResult import_detailed(const nlohmann::json& products,
                               const std::optional<std::filesystem::path>& base_dir,
                               const PhotoFetcher& fetch_url, const ImportOptions& options = {});
  // The ids of import_detailed, in the file's order.
  std::vector<int64_t> import(const nlohmann::json& products,
                              const std::optional<std::filesystem::path>& base_dir,
                              const PhotoFetcher& fetch_url, const ImportOptions& options = {}) {
    return import_detailed(products, base_dir, fetch_url, options).ids;
  }

  // Changes the given fields in one transaction and sets updated_at; each
  // published listing of the product is marked out of date. Photos are
  // resolved like import's (base_dir and fetch_url). Throws not_found,
  // invalid_params (a sku another product has).
  UpdateResult update(int64_t id, const ProductChanges& changes,
                      const std::optional<std::filesystem::path>& base_dir,
                      const PhotoFetcher& fetch_url, const ImportOptions& options = {});

  std::optional<Product> find(int64_t id);
  Product get(int64_t id);  // throws not_found
  std::vector<Product> list(int limit, int64_t after_id);
  // The type recorded for a stored photo, or nullopt when no product ever had it.
  std::optional<std::string> photo_type(const std::string& sha256);

 private:
  std::vector<ProductImage> load_images(int64_t product_id);
  void write_images(int64_t id, const std::vector<ProductImage>& images, const std::string& now);
  // Inside a transaction: writes the changes, marks published listings.
  std::vector<OutOfDateListing> apply(int64_t id, const ProductChanges& changes,
                                      const std::optional<std::vector<ProductImage>>& images,
                                      const std::string& now);
  Database& db_;
  BlobStore& blobs_;
};

}  // namespace stoflow::store
