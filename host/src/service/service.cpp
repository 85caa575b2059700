#include "service/service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "platform/files.h"
#include "service/params.h"
#include "store/lease_owner.h"
#include "store/migrations.h"
#include "util/crypto.h"
#include "util/errors.h"
#include "util/json_input.h"
#include "util/log.h"
#include "util/paths.h"
#include "util/unique_fd.h"

#ifndef STOFLOW_VERSION
#define STOFLOW_VERSION "0.0.0"
#endif

namespace stoflow::service {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json enqueue_receipt(const workflow::EnqueueReceipt& r) {
  return {{"product_id", r.product_id}, {"status", "pending"},    {"message", r.message},
          {"listing_id", r.listing_id}, {"queue_id", r.queue_id}, {"task_id", r.task_id}};
}

workflow::TaskReport read_report(const json& params) {
  Params p(params);
  workflow::TaskReport report;
  report.task_id = p.integer("task_id", 1, INT64_MAX);
  report.success = p.boolean("success");
  // 0 is what fetch() and XHR report when no response came back at all.
  if (auto status = p.optional_integer("http_status", 0, 599); status && *status != 0) {
    if (*status < 100) {
      throw AppError(ErrorCode::kInvalidParams,
                     "\"http_status\" must be 0 (no response) or between 100 and 599",
                     json{{"param", "http_status"}});
    }
    report.http_status = static_cast<int>(*status);
  }
  report.result = p.any("result");
  report.error_message = p.optional_string("error_message");
  report.error_kind = p.optional_string("error_kind");
  report.retry_after_seconds = p.optional_number("retry_after", 0);
  if (report.retry_after_seconds && *report.retry_after_seconds > workflow::kMaxRetryAfterSeconds) {
    throw AppError(ErrorCode::kInvalidParams, "\"retry_after\" must be at most 86400 seconds",
                   json{{"param", "retry_after"}});
  }
  if (auto attempt = p.optional_integer("attempt", 1, 1000))
    report.attempt = static_cast<int>(*attempt);
  report.lease_next = p.optional_boolean("lease_next").value_or(false);
  // nlohmann orders object keys, so equal params give equal fingerprints.
  report.fingerprint = sha256_hex(params.dump());
  return report;
}

}  // namespace

const char* host_version() {
  return STOFLOW_VERSION;
}

Config Config::from_environment(fs::path db_path) {
  Config config;
  // Every process must name the same file the same way: lease-owner locks,
  // blobs and the commit signal live beside the real file, not beside a link.
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(db_path, ec);
  config.db_path = ec ? std::move(db_path) : canonical;
  // Clamped: a zero lease would expire every step as it is handed out.
  config.engine.lease_ms =
      std::clamp<int64_t>(env_int("STOFLOW_LEASE_SECONDS", config.engine.lease_ms / 1000), 1,
                          86400) *
      1000;
  config.engine.retry_delay_ms = std::clamp<int64_t>(
      env_int("STOFLOW_RETRY_DELAY_MS", config.engine.retry_delay_ms), 0, 3'600'000);
  config.engine.default_rate_limit_ms = std::clamp<int64_t>(
      env_int("STOFLOW_RATE_LIMIT_MS", config.engine.default_rate_limit_ms), 0, 86'400'000);
  return config;
}

Service::Service(const Config& config)
    : config_(config), registry_(workflow::Registry::with_builtin_platforms()) {
  db_ = std::make_unique<store::Database>(config_.db_path);
  store::migrate(*db_);
  blobs_ = std::make_unique<store::BlobStore>(with_suffix(config_.db_path, "-blobs"));
  products_ = std::make_unique<store::ProductStore>(*db_, *blobs_);
  fetcher_ =
      std::make_unique<fetch::UrlPhotoFetcher>(*blobs_, fetch::FetchLimits::from_environment());
  engine_ = std::make_unique<workflow::Engine>(*db_, *products_, registry_, config_.engine);
  register_methods();
}

int Service::recover_dead_hosts(const std::string& self) {
  auto dir = store::owners_dir_for(config_.db_path);
  // A host killed while it held no lease is named by no lease row, so only a
  // sweep of the directory finds its file. Every front end calls this as it
  // starts (and hosts every second): one open and flock per running host.
  store::LeaseOwner::remove_dead(dir);
  return engine_->recover_dead_owners(
      self, [&](const std::string& owner) { return store::LeaseOwner::is_alive(dir, owner); });
}

std::pair<std::string, std::string> Service::read_photo(const std::string& sha256) {
  auto type = products_->photo_type(sha256);
  if (!type) throw not_found("no such photo");
  std::string bytes;
  blobs_->read(sha256, 0, store::kMaxPhotoBytes, bytes);
  return {*type, bytes};
}

bool Service::has_method(const std::string& method) const {
  return methods_.contains(method);
}

json Service::invoke(const std::string& method, const json& params, const Caller& caller) {
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    throw AppError(ErrorCode::kMethodNotFound, "unknown method \"" + method + "\"",
                   json{{"method", method}});
  }
  return it->second(params, caller);
}

std::vector<int64_t> Service::import_products(const json& products,
                                              const std::optional<fs::path>& base_dir,
                                              const store::ImportOptions& options) {
  return import_products_detailed(products, base_dir, options).ids;
}

store::ImportResult Service::import_products_detailed(const json& products,
                                                      const std::optional<fs::path>& base_dir,
                                                      const store::ImportOptions& options) {
  return products_->import_detailed(
      products, base_dir, [this](const std::string& url) { return fetcher_->fetch(url); }, options);
}

namespace {

// The catalogue file's text. Opened without blocking and checked on the
// descriptor: a FIFO or a device named as the catalogue must not hang the
// command or feed it endless bytes.
std::string read_catalogue(const fs::path& file) {
  int fd = platform::open_file(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw not_found("cannot open " + file.string() + ": " + std::strerror(errno));
  UniqueFd closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    throw invalid_params(file.string() + " is not a regular file");
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw invalid_params("cannot read " + file.string() + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace

std::vector<int64_t> Service::import_products_file(const fs::path& file,
                                                   const store::ImportOptions& options) {
  return import_products_file_detailed(file, options).ids;
}

store::ImportResult Service::import_products_file_detailed(const fs::path& file,
                                                           const store::ImportOptions& options) {
  std::string text = read_catalogue(file);
  json products;
  try {
    products = parse_external_json(text, kMaxCatalogueJsonValues);
  } catch (const AppError& e) {
    throw AppError(e.code(), file.string() + ": " + e.what(), e.data());
  }
  try {
    return import_products_detailed(products, fs::absolute(file).parent_path(), options);
  } catch (const AppError& e) {
    throw AppError(e.code(), file.string() + ": " + e.what(), e.data());
  }
}

BlobChunk Service::read_blob_chunk(const json& params) {
  Params p(params);
  BlobChunk chunk;
  chunk.blob = p.string("blob");
  if (!is_sha256_hex(chunk.blob)) {
    throw invalid_params("\"blob\" must be a lowercase SHA-256 hex digest of a stored photo");
  }
  chunk.offset = p.integer("offset", 0, INT64_MAX);
  int64_t length = p.integer("length", 1, INT64_MAX);
  if (length > kMaxBlobChunk) {
    throw AppError(ErrorCode::kTooLarge,
                   "\"length\" is limited to " + std::to_string(kMaxBlobChunk) + " bytes",
                   json{{"max_length", kMaxBlobChunk}});
  }
  chunk.size = blobs_->read(chunk.blob, chunk.offset, length, chunk.bytes);
  return chunk;
}

void Service::register_methods() {
  methods_["hello"] = [this](const json& params, const Caller& caller) {
    Params p(params);
    log::info("hello from " + p.optional_string("client").value_or("an unnamed client") + " " +
              p.optional_string("version").value_or("?") + " (" +
              p.optional_string("browser").value_or(caller.client) + ")");
    return json{{"host", "stoflow-host"},
                {"version", host_version()},
                {"protocol", kProtocolVersion},
                {"platforms", registry_.platforms()}};
  };
  methods_["tasks.list"] = [this](const json& params, const Caller& caller) {
    Params p(params);
    int limit = static_cast<int>(p.optional_integer("limit", 1, 100).value_or(10));
    return engine_->lease(
        caller.owner, limit,
        caller.polls ? workflow::Engine::Held::kNotListed : workflow::Engine::Held::kListedAgain);
  };
  methods_["tasks.result"] = [this](const json& params, const Caller& caller) {
    return engine_->report(caller.owner, read_report(params));
  };
  methods_["blobs.read"] = [this](const json& params, const Caller&) {
    BlobChunk chunk = read_blob_chunk(params);
    auto data =
        std::span(reinterpret_cast<const unsigned char*>(chunk.bytes.data()), chunk.bytes.size());
    return json{{"blob", chunk.blob},          {"offset", chunk.offset},
                {"size", chunk.size},          {"length", chunk.bytes.size()},
                {"data", base64_encode(data)}, {"eof", chunk.eof()}};
  };
  methods_["operations.enqueue"] = [this](const json& params, const Caller&) {
    Params p(params);
    const json& options = p.any("params");
    if (!options.is_null() && !options.is_object()) {
      throw AppError(ErrorCode::kInvalidParams, "\"params\" must be an object",
                     json{{"param", "params"}});
    }
    return enqueue_receipt(engine_->enqueue(p.string("platform"), p.string("operation"),
                                            p.integer("product_id", 1, INT64_MAX),
                                            options.is_null() ? json::object() : options));
  };
  // The seed's name for the first operation, kept as an alias.
  methods_["products.publish"] = [this](const json& params, const Caller&) {
    Params p(params);
    return enqueue_receipt(engine_->enqueue(p.string("platform"), workflow::kPublishProduct,
                                            p.integer("product_id", 1, INT64_MAX)));
  };
  methods_["products.get"] = [this](const json& params, const Caller&) {
    Params p(params);
    return store::to_json(products_->get(p.integer("product_id", 1, INT64_MAX)));
  };
  // Remote callers (the extension, the HTTP API) may only give photo URLs.
  methods_["products.update"] = [this](const json& params, const Caller&) {
    Params p(params);
    int64_t id = p.integer("product_id", 1, INT64_MAX);
    json fields = params;
    fields.erase("product_id");
    auto result =
        products_->update(id, store::parse_changes(fields), std::nullopt,
                          [this](const std::string& url) { return fetcher_->fetch(url); });
    json stale = json::array();
    for (const auto& listing : result.listings_out_of_date) {
      stale.push_back({{"platform", listing.platform}, {"listing_id", listing.listing_id}});
    }
    json out = {{"product", store::to_json(result.product)}, {"listings_out_of_date", stale}};
    if (!stale.empty()) {
      std::string message = "the product changed after it was published: ";
      for (size_t i = 0; i < result.listings_out_of_date.size(); ++i) {
        const auto& l = result.listings_out_of_date[i];
        message += (i ? "; " : "") + std::string("`stoflow-host update ") + l.platform + " " +
                   std::to_string(id) + "` will send it to " + l.platform;
      }
      out["message"] = message;
    }
    return out;
  };
  methods_["products.list"] = [this](const json& params, const Caller&) {
    Params p(params);
    json out = json::array();
    int limit = static_cast<int>(p.optional_integer("limit", 1, 1000).value_or(100));
    int64_t after = p.optional_integer("after_id", 0, INT64_MAX).value_or(0);
    for (const auto& product : products_->list(limit, after))
      out.push_back(store::to_json(product));
    return out;
  };
  methods_["queues.list"] = [this](const json& params, const Caller&) {
    Params p(params);
    workflow::QueueFilter filter;
    filter.status = p.optional_string("status");
    filter.platform = p.optional_string("platform");
    filter.product_id = p.optional_integer("product_id", 1, INT64_MAX);
    filter.before_id = p.optional_integer("before_id", 1, INT64_MAX);
    filter.limit = static_cast<int>(p.optional_integer("limit", 1, 1000).value_or(50));
    return engine_->queues(filter);
  };
  methods_["queues.get"] = [this](const json& params, const Caller&) {
    return engine_->queue(Params(params).integer("queue_id", 1, INT64_MAX), true);
  };
  methods_["queues.retry"] = [this](const json& params, const Caller&) {
    return engine_->retry_queue(Params(params).integer("queue_id", 1, INT64_MAX));
  };
  methods_["queues.resume"] = [this](const json& params, const Caller&) {
    return engine_->resume_queue(Params(params).integer("queue_id", 1, INT64_MAX));
  };
  methods_["queues.cancel"] = [this](const json& params, const Caller&) {
    return engine_->cancel_queue(Params(params).integer("queue_id", 1, INT64_MAX));
  };
  methods_["listings.list"] = [this](const json& params, const Caller&) {
    Params p(params);
    workflow::ListingFilter filter;
    filter.product_id = p.optional_integer("product_id", 1, INT64_MAX);
    filter.platform = p.optional_string("platform");
    filter.status = p.optional_string("status");
    filter.after_id = p.optional_integer("after_id", 0, INT64_MAX).value_or(0);
    filter.limit = static_cast<int>(p.optional_integer("limit", 1, 1000).value_or(1000));
    return engine_->listings(filter);
  };
}

}  // namespace stoflow::service
