#include "util/crypto.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace stoflow {

namespace {

// FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the cube
// roots of the first 64 primes.
constexpr std::array<uint32_t, 64> kRoundConstants = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// FIPS 180-4, 5.3.3: the first 32 bits of the fractional parts of the square
// roots of the first 8 primes.
constexpr std::array<uint32_t, 8> kInitialState = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

constexpr uint32_t rotr(uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

std::string to_hex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xF];
  }
  return out;
}

std::vector<unsigned char> random_bytes(size_t count) {
  std::vector<unsigned char> bytes(count);
  detail::fill_random(bytes.data(), bytes.size(), ::getrandom);
  return bytes;
}

}  // namespace

Sha256::Sha256() : state_(kInitialState) {}

// FIPS 180-4, 6.2.2: one 512-bit block into the state.
void Sha256::compress(const unsigned char* block) {
  std::array<uint32_t, 64> w;
  for (int t = 0; t < 16; ++t) {
    w[t] = (uint32_t{block[4 * t]} << 24) | (uint32_t{block[4 * t + 1]} << 16) |
           (uint32_t{block[4 * t + 2]} << 8) | uint32_t{block[4 * t + 3]};
  }
  for (int t = 16; t < 64; ++t) {
    uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
  for (int t = 0; t < 64; ++t) {
    uint32_t sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    uint32_t choose = (e & f) ^ (~e & g);
    uint32_t t1 = h + sum1 + choose + kRoundConstants[t] + w[t];
    uint32_t sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = sum0 + majority;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
  state_[4] += e;
  state_[5] += f;
  state_[6] += g;
  state_[7] += h;
}

void Sha256::update(const void* data, size_t size) {
  if (finished_) throw std::logic_error("SHA-256 updated after its digest was taken");
  const auto* bytes = static_cast<const unsigned char*>(data);
  total_bytes_ += size;
  if (block_used_ > 0) {
    size_t take = std::min(size, block_.size() - block_used_);
    std::memcpy(block_.data() + block_used_, bytes, take);
    block_used_ += take;
    bytes += take;
    size -= take;
    if (block_used_ < block_.size()) return;
    compress(block_.data());
    block_used_ = 0;
  }
  // Whole blocks straight from the caller's buffer, without copying them.
  for (; size >= block_.size(); bytes += block_.size(), size -= block_.size()) compress(bytes);
  if (size > 0) {
    std::memcpy(block_.data(), bytes, size);
    block_used_ = size;
  }
}

std::array<unsigned char, 32> Sha256::digest() {
  if (finished_) throw std::logic_error("SHA-256 digest taken twice");
  // FIPS 180-4, 5.1.1: a 1 bit, zeros up to 448 bits mod 512, then the
  // message length in bits as a 64-bit big-endian number.
  uint64_t bit_length = total_bytes_ * 8;
  static constexpr unsigned char kPadding[64] = {0x80};
  size_t pad = block_used_ < 56 ? 56 - block_used_ : 120 - block_used_;
  update(kPadding, pad);
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(bit_length >> (56 - 8 * i));
  update(length, sizeof length);
  finished_ = true;
  std::array<unsigned char, 32> out;
  for (size_t i = 0; i < state_.size(); ++i) {
    out[4 * i] = static_cast<unsigned char>(state_[i] >> 24);
    out[4 * i + 1] = static_cast<unsigned char>(state_[i] >> 16);
    out[4 * i + 2] = static_cast<unsigned char>(state_[i] >> 8);
    out[4 * i + 3] = static_cast<unsigned char>(state_[i]);
  }
  return out;
}

std::string Sha256::hex_digest() {
  auto bytes = digest();
  return to_hex(bytes.data(), bytes.size());
}

std::string sha256_hex(std::string_view data) {
  Sha256 hash;
  hash.update(data.data(), data.size());
  return hash.hex_digest();
}

std::string base64_encode(std::span<const unsigned char> data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(4 * ((data.size() + 2) / 3));
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t n = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | uint32_t{data[i + 2]};
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (size_t left = data.size() - i; left > 0) {
    uint32_t n = uint32_t{data[i]} << 16;
    if (left == 2) n |= uint32_t{data[i + 1]} << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += left == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

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
