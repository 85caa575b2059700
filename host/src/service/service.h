#pragma once
// The service layer: the one place where requests become store and engine
// calls. The stdio transport, the HTTP API and the CLI are thin front ends
// over `invoke`, so they validate, answer and fail alike.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "fetch/url_photos.h"
#include "store/blob_store.h"
#include "store/database.h"
#include "store/products.h"
#include "workflow/engine.h"
#include "workflow/registry.h"

namespace stoflow::service {

inline constexpr int kProtocolVersion = 1;
// The largest `length` of blobs.read: its reply (base64, 4/3 of the bytes) fits
// in one 1 MiB native message. Larger chunks would fit up to 768 KiB, but they
// made Chromium slower, not faster (docs/benchmarks.md, "Photos through the browser").
inline constexpr int64_t kMaxBlobChunk = 512 * 1024;

// One blobs.read answer before it is encoded.
struct BlobChunk {
  std::string blob;  // the lowercase SHA-256 hex digest
  int64_t offset = 0;
  int64_t size = 0;   // the whole blob's
  std::string bytes;  // what was read at `offset`
  bool eof() const { return offset + static_cast<int64_t>(bytes.size()) >= size; }
};

struct Config {
  std::filesystem::path db_path;
  workflow::EngineOptions engine;

  // Reads STOFLOW_LEASE_SECONDS, STOFLOW_RETRY_DELAY_MS, STOFLOW_RATE_LIMIT_MS.
  static Config from_environment(std::filesystem::path db_path);
};

// Who is calling: leases are held by this id.
struct Caller {
  std::string owner;
  std::string client;  // "stoflow-extension 0.1.0 (chrome)", "cli", ...
  // Pollers share one owner across requests (the HTTP API): a step they hold
  // is not listed to them again, as the seed's GET handed each step out once.
  bool polls = false;
};

const char* host_version();

class Service {
 public:
  explicit Service(const Config& config);

  // Runs one named method (the names of docs/protocol.md). Throws AppError.
  nlohmann::json invoke(const std::string& method, const nlohmann::json& params,
                        const Caller& caller);
  bool has_method(const std::string& method) const;

  // Import reads the seller's files, which only local front ends may ask for.
  // base_dir: where relative photo paths live; nullopt for remote callers,
  // who may only give photo URLs.
  std::vector<int64_t> import_products(const nlohmann::json& products,
                                       const std::optional<std::filesystem::path>& base_dir,
                                       const store::ImportOptions& options = {});
  // Errors name the file.
  std::vector<int64_t> import_products_file(const std::filesystem::path& file,
                                            const store::ImportOptions& options = {});
  // The same, saying which products were added and which updated.
  store::ImportResult import_products_detailed(const nlohmann::json& products,
                                               const std::optional<std::filesystem::path>& base_dir,
                                               const store::ImportOptions& options = {});
  store::ImportResult import_products_file_detailed(const std::filesystem::path& file,
                                                    const store::ImportOptions& options = {});

  // blobs.read without the JSON: its params checked and the bytes read, for a
  // front end that encodes the reply itself (the native host writes the base64
  // straight into the frame). Throws AppError as invoke does.
  BlobChunk read_blob_chunk(const nlohmann::json& params);

  // A stored photo's type and bytes (the dashboard's thumbnails). Throws not_found.
  std::pair<std::string, std::string> read_photo(const std::string& sha256);

  // Releases the leases of host processes that are gone (killed, crashed).
  int recover_dead_hosts(const std::string& self);

  workflow::Engine& engine() { return *engine_; }
  store::Database& db() { return *db_; }
  store::BlobStore& blobs() { return *blobs_; }
  store::ProductStore& products() { return *products_; }
  const workflow::Registry& registry() const { return registry_; }
  const std::filesystem::path& db_path() const { return config_.db_path; }

 private:
  using Handler = std::function<nlohmann::json(const nlohmann::json&, const Caller&)>;
  void register_methods();

  Config config_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::BlobStore> blobs_;
  std::unique_ptr<store::ProductStore> products_;
  std::unique_ptr<fetch::UrlPhotoFetcher> fetcher_;
  workflow::Registry registry_;
  std::unique_ptr<workflow::Engine> engine_;
  std::map<std::string, Handler> methods_;
};

}  // namespace stoflow::service
