#pragma once
// Real image bytes for tests and fuzz fixtures: the host types a photo by its
// first bytes, so a fixture must be a true PNG, JPEG or WebP, of a chosen size.
#include <cstddef>
#include <string>

namespace stoflow::testing {

// `n` bytes from a generator seeded with `seed`: the same bytes every run.
std::string random_bytes(size_t n, unsigned seed);
// A valid 1x1 PNG padded to about `size` bytes with a private chunk.
std::string png_bytes(size_t size, unsigned seed);
// JPEG start and end markers around random bytes.
std::string jpeg_like_bytes(size_t size, unsigned seed);
// A RIFF/WEBP file with one VP8L chunk of random bytes.
std::string webp_like_bytes(size_t size, unsigned seed);

}  // namespace stoflow::testing
