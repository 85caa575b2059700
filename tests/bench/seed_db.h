#pragma once
// Databases of any depth for scripts/bench, written with SQLite directly: the
// engine's own path (one fsync'd transaction per operation) would take hours
// for a million tasks. The rows are those the engine writes (Engine::enqueue,
// Engine::insert_step, Engine::advance and VintedPublish), on the schema the
// real binary created, so the host cannot tell them from its own.
#include <cstdint>
#include <filesystem>
#include <string>

namespace stoflow::bench {

struct Shape {
  int64_t completed = 0;  // Vinted publishes already done: 3 successful steps each
  int64_t queued = 0;     // operations waiting, each with its first step pending
  int64_t listed = 0;     // extra products with a published listing and no history
  std::string name() const;
};

// Where the database of `shape` is kept in `cache_dir` for the schema of
// `base` (a database the real binary created, holding one imported product
// with one photo); its blobs are beside it, in the path + "-blobs".
std::filesystem::path cache_path(const std::filesystem::path& cache_dir,
                                 const std::filesystem::path& base, const Shape& shape);

// Removes from `cache_dir` the databases built for another schema or seed
// format: a new migration would otherwise leave 1.6 GB behind each time.
void remove_stale_databases(const std::filesystem::path& cache_dir,
                            const std::filesystem::path& base);

// Builds it there from `base`. The cached files are never run on: copy them.
void build_database(const std::filesystem::path& base, const Shape& shape,
                    const std::filesystem::path& path);

// A private copy of a database and its blobs, as `dir`/stoflow.db.
std::filesystem::path copy_database(const std::filesystem::path& source,
                                    const std::filesystem::path& dir);

int64_t count_rows(const std::filesystem::path& db, const std::string& table);

}  // namespace stoflow::bench
