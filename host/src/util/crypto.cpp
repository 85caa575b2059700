#include "util/crypto.h"

#ifdef _WIN32
// Stand-in until the random-bytes interface lands (another branch owns it).
#include <windows.h>
// windows.h first
#include <bcrypt.h>
#else
#include <sys/random.h>
#endif

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace stoflow {

namespace {

std::string to_hex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xF];
  }
  return out;
}

#ifdef _WIN32
// getrandom(2)'s shape over the system generator.
ssize_t system_random(void* buffer, size_t size, unsigned) {
  ULONG n = size > 0x10000000 ? 0x10000000 : static_cast<ULONG>(size);
  if (BCryptGenRandom(nullptr, static_cast<PUCHAR>(buffer), n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) !=
      0) {
    errno = EIO;
    return -1;
  }
  return static_cast<ssize_t>(n);
}
#else
constexpr detail::RandomSource system_random = ::getrandom;
#endif

std::vector<unsigned char> random_bytes(size_t count) {
  std::vector<unsigned char> bytes(count);
  detail::fill_random(bytes.data(), bytes.size(), system_random);
  return bytes;
}

}  // namespace

namespace detail {

void fill_random(unsigned char* out, size_t size, RandomSource source) {
  while (size > 0) {
    // Flags 0: the urandom pool, which blocks only until the kernel has
    // seeded it once at boot. Large requests can come back short (or be
    // interrupted by a signal): the rest is asked for again.
    ssize_t n = source(out, size, 0);
    if (n < 0 && errno == EINTR) continue;
    // 0 bytes, or more than asked for, is a broken source, not progress.
    if (n <= 0 || static_cast<size_t>(n) > size) {
      int error = n < 0 ? errno : EIO;
      throw std::runtime_error(std::string("the system random generator failed: ") +
                               std::strerror(error));
    }
    out += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace detail

std::string random_uuid() {
  auto b = random_bytes(16);
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  std::string hex = to_hex(b.data(), b.size());
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string random_hex(size_t bytes) {
  auto b = random_bytes(bytes);
  return to_hex(b.data(), b.size());
}

bool is_sha256_hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    bool digit = c >= '0' && c <= '9';
    bool lower_hex = c >= 'a' && c <= 'f';
    if (!digit && !lower_hex) return false;
  }
  return true;
}

}  // namespace stoflow
