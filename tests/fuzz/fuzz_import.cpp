// Fuzzes `stoflow-host products import FILE.json`: the input is the file's
// bytes, written beside a catalogue of real photos and imported through
// Service::import_products_file, the path the CLI takes (parsing, validation,
// photo copies into the blob store, the one insert transaction).
//
// Invariants, each a trap when broken:
//  - every refusal is an AppError with a code the front ends map (the CLI
//    prints it, the HTTP API turns it into a status); anything else escaping
//    is a bug (over HTTP it would be a 500);
//  - all or nothing: a refused file adds no product;
//  - an accepted file adds exactly one product per array element, each
//    readable back with its photos stored, typed and within the size limit.
//
// Photo downloads are bounded in time (fuzz::bound_photo_downloads): the fetcher itself
// is tested in the unit suite.
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <thread>

#include "fuzz_support.h"
#include "photos.h"
#include "service/service.h"
#include "util/errors.h"

using namespace stoflow;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  fs::path dir = fuzz::make_fixture_dir("import");
  fs::path catalogue = dir / "catalogue";
  fs::path file = catalogue / "products.json";
  std::unique_ptr<service::Service> service;
  std::unique_ptr<fuzz::DbSnapshot> snapshot;

  // The files the seed corpus names, relative to the import file: photos of
  // each accepted type, and the cases the importer must refuse or handle.
  Fixture() {
    fuzz::bound_photo_downloads();
    fuzz::write_bytes(catalogue / "photos" / "front.png", testing::png_bytes(900, 1));
    fuzz::write_bytes(catalogue / "photos" / "back.jpg", testing::jpeg_like_bytes(2000, 2));
    fuzz::write_bytes(catalogue / "photos" / "label.webp", testing::webp_like_bytes(600, 3));
    // Not a known image by its bytes but by its name: imported with a warning.
    fuzz::write_bytes(catalogue / "photos" / "export.jpg", "JFIF-ish bytes from an old exporter");
    fuzz::write_bytes(catalogue / "photos" / "empty.png", "");
    fuzz::write_bytes(catalogue / "notes.txt", "not a photo");
    fs::create_directories(catalogue / "photos" / "folder.png");
    fs::create_symlink("front.png", catalogue / "photos" / "link.png");
    fs::create_symlink("missing.png", catalogue / "photos" / "dangling.png");
    // A named pipe with no writer: opening it for reading blocks until one
    // comes, so an importer that opens before it checks the file type hangs.
    if (::mkfifo((catalogue / "photos" / "pipe.jpg").c_str(), 0600) != 0) {
      fuzz::fail("cannot create the fixture's named pipe");
    }
    service = std::make_unique<service::Service>(
        service::Config::from_environment(dir / "data" / "stoflow.db"));
    snapshot = std::make_unique<fuzz::DbSnapshot>(service->db().handle());
  }

  int64_t product_count() {
    auto q = service->db().query("SELECT COUNT(*) FROM products");
    q.step();
    return q.int64(0);
  }
};

Fixture* fixture = nullptr;

// An import that never ends is a hang of `products import`. libFuzzer's own
// timeout works by SIGALRM, which would interrupt a blocked open() (EINTR, an
// ordinary error) instead of reporting it; so the import runs with SIGALRM
// blocked and this watchdog reports one that runs past 5 s.
std::atomic<int64_t> import_started_ms{0};

void watch_imports() {
  using namespace std::chrono;
  for (;;) {
    std::this_thread::sleep_for(milliseconds(100));
    int64_t started = import_started_ms.load();
    int64_t now = duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
    if (started != 0 && now - started > 5000) {
      fuzz::fail("an import has been running for 5 s: `products import` would hang on this file");
    }
  }
}

const std::set<ErrorCode> kImportErrors = {ErrorCode::kParseError,    ErrorCode::kInvalidRequest,
                                           ErrorCode::kInvalidParams, ErrorCode::kNotFound,
                                           ErrorCode::kTooLarge,      ErrorCode::kFetchFailed};

void check_imported(const std::vector<int64_t>& ids, std::string_view input) {
  json parsed = json::parse(input.begin(), input.end(), nullptr, false);
  if (!parsed.is_array() || parsed.size() != ids.size()) {
    fuzz::fail("an import did not add one product per element of its array", input);
  }
  std::set<int64_t> distinct(ids.begin(), ids.end());
  if (distinct.size() != ids.size()) fuzz::fail("an import returned the same id twice");
  for (size_t i = 0; i < ids.size(); ++i) {
    store::Product product = fixture->service->products().get(ids[i]);
    if (product.title.empty()) fuzz::fail("a product was imported without a title", input);
    if (product.price_cents < 0) fuzz::fail("a product was imported with a negative price");
    if (product.currency.size() != 3) fuzz::fail("a currency that is not three letters", input);
    const json& sources = parsed[i].value("images", json::array());
    if (product.images.size() != sources.size()) {
      fuzz::fail("a product lost or gained photos on import", input);
    }
    for (const auto& image : product.images) {
      if (!fixture->service->blobs().contains(image.sha256)) {
        fuzz::fail("an imported photo is not in the blob store", image.sha256);
      }
      if (image.size <= 0 || image.size > store::kMaxPhotoBytes) {
        fuzz::fail("an imported photo of an impossible size", std::to_string(image.size));
      }
      if (image.content_type != "image/jpeg" && image.content_type != "image/png" &&
          image.content_type != "image/webp") {
        fuzz::fail("an imported photo of an unknown type", image.content_type);
      }
    }
    // Shown back by `products show` and the HTTP API: must serialise strictly.
    (void)store::to_json(product).dump();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  fixture = new Fixture();
  std::thread(watch_imports).detach();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz::write_bytes(fixture->file, input);
  int64_t before = fixture->product_count();
  sigset_t alarm, previous;
  sigemptyset(&alarm);
  sigaddset(&alarm, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &alarm, &previous);
  import_started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  std::vector<int64_t> ids;
  std::optional<AppError> refused;
  try {
    ids = fixture->service->import_products_file(fixture->file);
  } catch (const AppError& e) {
    refused = e;
  } catch (const std::exception& e) {
    fuzz::fail("an exception other than AppError escaped the import", e.what());
  }
  import_started_ms = 0;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);

  if (refused) {
    if (!kImportErrors.contains(refused->code())) {
      fuzz::fail("an import error of an unexpected kind", refused->what());
    }
    if (fixture->product_count() != before)
      fuzz::fail("a refused import added products", refused->what());
  } else {
    if (fixture->product_count() != before + static_cast<int64_t>(ids.size())) {
      fuzz::fail("the product count does not match the ids returned");
    }
    try {
      check_imported(ids, input);
    } catch (const std::exception& e) {
      fuzz::fail("an imported product cannot be read back", e.what());
    }
  }
  fixture->snapshot->restore_if_changed();
  return 0;
}
