#pragma once
// SHA-256 (FIPS 180-4), base64 (RFC 4648), random bytes from the kernel's
// CSPRNG (getrandom(2)) and UUIDs, in our own code. Each is small, fully
// specified and checked against the standards' own test vectors
// (tests/unit/crypto_tests.cpp); linking OpenSSL's libcrypto for them loaded
// a 4.5 MB library into every process, the native host included, for a few
// hundred lines of well-known code. Nothing here needs constant time: the
// hashes are of public data (photos, request parameters) and no secret is
// ever compared with them.
//
// SHA-256 and base64 are as fast as OpenSSL's (docs/benchmarks.md): SHA-256
// uses the x86 SHA extensions when CPUID reports them (util/sha256.cpp) and
// unrolled portable code elsewhere; base64 works on whole groups through
// tables (util/base64.cpp). Neither uses a Linux-only header; getrandom(2)
// is in util/crypto.cpp.
#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace stoflow {

// Streaming SHA-256: update() any number of times, then hex_digest() once.
class Sha256 {
 public:
  Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  // Ends the hash: lowercase, 64 characters. Throws std::logic_error if
  // called twice or after it, as would update(): a finished hash has no state
  // left to feed.
  std::string hex_digest();

  // `blocks` whole 64-byte blocks into the state (FIPS 180-4, 6.2.2).
  using CompressFn = void (*)(uint32_t* state, const unsigned char* data, size_t blocks);

 private:
  std::array<unsigned char, 32> digest();

  std::array<uint32_t, 8> state_;
  std::array<unsigned char, 64> block_{};
  size_t block_used_ = 0;
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
  CompressFn compress_;
};

std::string sha256_hex(std::string_view data);

// Standard alphabet, '=' padding, no line breaks.
std::string base64_encode(std::span<const unsigned char> data);
// The inverse of base64_encode, strict: only the text base64_encode gives
// for some bytes is taken. Throws std::invalid_argument, saying where, for a
// length that is not a multiple of 4, a character outside the alphabet
// (whitespace included), '=' anywhere but as the last one or two characters,
// and bits left over in the last group that are not zero.
std::string base64_decode(std::string_view text);

// RFC 4122 version 4, from the OS's CSPRNG.
std::string random_uuid();
std::string random_hex(size_t bytes);

bool is_sha256_hex(std::string_view text);

namespace detail {
// getrandom(2)'s shape, so the tests can feed the loop interrupted and short
// reads; production passes ::getrandom.
using RandomSource = ssize_t (*)(void* buffer, size_t size, unsigned flags);
// Fills `size` bytes from `source`, retrying on EINTR and continuing after
// short reads; throws std::runtime_error on any other failure.
void fill_random(unsigned char* out, size_t size, RandomSource source);

// The two implementations of SHA-256's compression: portable C++, and the x86
// SHA extensions (SHA-NI), which need CPUID to report SHA, SSSE3 and SSE4.1.
enum class Sha256Path { kPortable, kShaNi };
// Whether this CPU runs `path` (kPortable: always).
bool sha256_path_available(Sha256Path path);
// The path of the Sha256 objects constructed from now on: the best available
// unless set_sha256_path chose one. For the tests, which check each path
// against the other on a CPU that has both; throws std::invalid_argument for
// a path this CPU lacks.
Sha256Path sha256_path();
void set_sha256_path(Sha256Path path);
}  // namespace detail

}  // namespace stoflow
