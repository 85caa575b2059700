#ifndef _WIN32
#include <sys/stat.h>
#endif

#include <boost/test/unit_test.hpp>

#include "posix_only.h"
#include "store/blob_store.h"
#include "test_support.h"
#include "util/crypto.h"
#include "util/errors.h"

using namespace stoflow;
using stoflow::testing::TempDir;

BOOST_AUTO_TEST_SUITE(blob_store_suite)

BOOST_AUTO_TEST_CASE(stores_by_content_and_dedupes) {
  TempDir dir;
  store::BlobStore blobs(dir / "blobs");
  auto bytes = testing::jpeg_like_bytes(300000, 7);
  testing::write_file(dir / "a.jpg", bytes);
  testing::write_file(dir / "copy.jpg", bytes);
  auto a = blobs.put_file(dir / "a.jpg");
  auto b = blobs.put_file(dir / "copy.jpg");
  BOOST_TEST(a.sha256 == sha256_hex(bytes));
  BOOST_TEST(a.sha256 == b.sha256);
  BOOST_TEST(a.content_type == "image/jpeg");
  BOOST_TEST(blobs.contains(a.sha256));
  BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir / "blobs" / "tmp"),
                           std::filesystem::directory_iterator()) == 0);
}

BOOST_AUTO_TEST_CASE(reads_back_in_chunks) {
  TempDir dir;
  store::BlobStore blobs(dir / "blobs");
  auto bytes = testing::png_bytes(1'300'000, 3);
  auto stored = blobs.put_bytes(bytes);
  std::string assembled, chunk;
  int64_t offset = 0;
  for (;;) {
    int64_t size = blobs.read(stored.sha256, offset, 512 * 1024, chunk);
    BOOST_TEST(size == static_cast<int64_t>(bytes.size()));
    if (chunk.empty()) break;
    assembled += chunk;
    offset += static_cast<int64_t>(chunk.size());
  }
  BOOST_TEST(assembled == bytes);
}

BOOST_AUTO_TEST_CASE(refuses_what_is_not_a_stored_digest) {
  TempDir dir;
  store::BlobStore blobs(dir / "blobs");
  testing::write_file(dir / "secret.txt", "do not serve me");
  std::string out;
  BOOST_CHECK_THROW(blobs.read("../../secret.txt", 0, 10, out), AppError);
  BOOST_CHECK_THROW(blobs.read("ABCDEF", 0, 10, out), AppError);
  BOOST_CHECK_THROW(blobs.read(std::string(64, 'a'), 0, 10, out), AppError);
  BOOST_TEST(!blobs.contains("../secret.txt"));
}

BOOST_AUTO_TEST_CASE(enforces_type_and_size) {
  TempDir dir;
  store::BlobStore blobs(dir / "blobs");
  BOOST_CHECK_THROW(blobs.put_bytes("GIF89a not supported"), AppError);
  std::string webp("RIFF\x10\x00\x00\x00WEBPVP8 ", 16);
  webp += std::string(64, 'x');
  BOOST_TEST(blobs.put_bytes(webp).content_type == "image/webp");
  testing::write_file(dir / "huge.jpg", testing::jpeg_like_bytes(store::kMaxPhotoBytes + 10, 1));
  try {
    blobs.put_file(dir / "huge.jpg");
    BOOST_FAIL("an oversize photo was stored");
  } catch (const AppError& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kTooLarge));
  }
}

BOOST_AUTO_TEST_CASE(an_image_name_is_not_enough) {
  TempDir dir;
  store::BlobStore blobs(dir / "blobs");
  testing::write_file(dir / "notes.png", "buy milk, not a photo");
  testing::write_file(dir / "empty.jpg", "");
  for (const char* name : {"notes.png", "empty.jpg"}) {
    BOOST_CHECK_THROW(blobs.put_file(dir / name), AppError);
  }
  BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir / "blobs" / "tmp"),
                           std::filesystem::directory_iterator()) == 0);
}

BOOST_AUTO_TEST_CASE(
    refuses_what_is_not_a_regular_file_without_waiting,
    *testing::posix_only("makes a FIFO (mkfifo); Windows has none in its file system")) {
#ifndef _WIN32
  TempDir dir;
  store::BlobStore blobs(dir / "blobs");
  // Opening a FIFO that has no writer used to wait forever.
  BOOST_REQUIRE(::mkfifo((dir / "pipe.jpg").c_str(), 0600) == 0);
  std::filesystem::create_directory(dir / "folder.jpg");
  for (const char* name : {"pipe.jpg", "folder.jpg"}) {
    try {
      blobs.put_file(dir / name);
      BOOST_FAIL(name << " was stored");
    } catch (const AppError& e) {
      BOOST_TEST(std::string(e.what()).find("not a regular file") != std::string::npos, e.what());
    }
  }
#endif
}

BOOST_AUTO_TEST_SUITE_END()
