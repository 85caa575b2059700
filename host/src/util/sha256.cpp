// SHA-256 (FIPS 180-4) in two implementations of its compression function,
// chosen once per process: the x86 SHA extensions (SHA-NI: two rounds per
// instruction, about 2 GB/s, as fast as OpenSSL's) when CPUID reports them,
// and portable C++ with the rounds unrolled everywhere else (other CPUs,
// 32-bit x86, other compilers). Only standard headers, plus <cpuid.h> and
// <immintrin.h> on x86-64 with GCC or Clang (both Linux and MinGW-w64 have
// them); the SHA-NI function alone is compiled for those extensions (a
// target attribute), so the rest of the file, and the binary, still run on
// any x86-64. Checked to build with MinGW-w64 GCC 12 and for aarch64.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "util/crypto.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define STOFLOW_SHA256_X86 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define STOFLOW_SHA256_X86 0
#endif

namespace stoflow {

namespace {

using detail::Sha256Path;

// FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the cube
// roots of the first 64 primes.
alignas(16) constexpr uint32_t kRoundConstants[64] = {
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

// ------------------------------------------------------------------ portable

constexpr uint32_t rotr(uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

// Compilers turn this into one load and a byte swap (bswap, movbe, rev).
inline uint32_t load_be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// FIPS 180-4, 4.1.2 and 6.2.2, step 3: one round. Instead of shifting the
// eight working variables along, each call names them in rotated order: the
// round updates only d and h.
inline void sha_round(uint32_t a, uint32_t b, uint32_t c, uint32_t& d, uint32_t e, uint32_t f,
                      uint32_t g, uint32_t& h, uint32_t k_plus_w) {
  uint32_t sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
  uint32_t choose = g ^ (e & (f ^ g));
  uint32_t t1 = h + sum1 + choose + k_plus_w;
  uint32_t sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
  uint32_t majority = (a & b) | (c & (a | b));
  d += t1;
  h = t1 + sum0 + majority;
}

// 6.2.2, step 1, for t >= 16, over a window of the last 16 words: w[J]
// holds W[t - 16] on entry and W[t] on return.
template <int J>
inline uint32_t schedule(uint32_t (&w)[16]) {
  uint32_t w15 = w[(J + 1) & 15], w2 = w[(J + 14) & 15];
  uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
  uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
  return w[J] += s1 + w[(J + 9) & 15] + s0;
}

// Sixteen rounds from round `t`, the first sixteen (kLoad) on the block's own
// words, the later ones on the schedule computed as they go.
template <bool kLoad, int... J>
inline void sixteen_rounds(uint32_t (&v)[8], uint32_t (&w)[16], const unsigned char* block, int t,
                           std::integer_sequence<int, J...>) {
  // Round J works on the variables rotated J places: a is v[(8 - J) % 8].
  (sha_round(v[(8 - J) & 7], v[(9 - J) & 7], v[(10 - J) & 7], v[(11 - J) & 7], v[(12 - J) & 7],
             v[(13 - J) & 7], v[(14 - J) & 7], v[(15 - J) & 7],
             kRoundConstants[t + J] + (kLoad ? (w[J] = load_be32(block + 4 * J)) : schedule<J>(w))),
   ...);
}

void compress_portable(uint32_t* state, const unsigned char* data, size_t blocks) {
  constexpr auto kSixteen = std::make_integer_sequence<int, 16>();
  for (; blocks > 0; --blocks, data += 64) {
    uint32_t v[8];
    std::memcpy(v, state, sizeof v);
    uint32_t w[16];
    sixteen_rounds<true>(v, w, data, 0, kSixteen);
    for (int t = 16; t < 64; t += 16) sixteen_rounds<false>(v, w, data, t, kSixteen);
    for (int i = 0; i < 8; ++i) state[i] += v[i];
  }
}

// ------------------------------------------------------------------- SHA-NI

#if STOFLOW_SHA256_X86

#define STOFLOW_SHA_NI __attribute__((target("sha,sse4.1,ssse3")))

// Rounds 4J to 4J+3 (Intel, "New Instructions Supporting the Secure Hash
// Algorithm on Intel Architecture Processors", 2013). The state is in two
// registers, ABEF and CDGH; m holds the message schedule four words at a
// time, W[4J..4J+3] in m[J % 4]. Each group also advances the schedule of the
// groups ahead: sha256msg1 starts W for the group three ahead, sha256msg2
// finishes it for the next one.
template <int J>
STOFLOW_SHA_NI __attribute__((always_inline)) inline void shani_group(__m128i& abef, __m128i& cdgh,
                                                                      __m128i (&m)[4],
                                                                      const unsigned char* block,
                                                                      __m128i byte_swap) {
  __m128i& now = m[J & 3];
  if constexpr (J < 4) {
    now = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * J)),
                           byte_swap);
  }
  __m128i k_plus_w =
      _mm_add_epi32(now, _mm_load_si128(reinterpret_cast<const __m128i*>(kRoundConstants + 4 * J)));
  cdgh = _mm_sha256rnds2_epu32(cdgh, abef, k_plus_w);
  if constexpr (J >= 3 && J <= 14) {
    // m[(J + 1) % 4] holds msg1(W of group J - 3, group J - 2): add W[t - 7]
    // and finish W of group J + 1.
    __m128i& next = m[(J + 1) & 3];
    next = _mm_add_epi32(next, _mm_alignr_epi8(now, m[(J + 3) & 3], 4));
    next = _mm_sha256msg2_epu32(next, now);
  }
  abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(k_plus_w, 0x0E));
  if constexpr (J >= 1 && J <= 12) {
    __m128i& previous = m[(J + 3) & 3];
    previous = _mm_sha256msg1_epu32(previous, now);
  }
}

template <int... J>
STOFLOW_SHA_NI __attribute__((always_inline)) inline void shani_block(
    __m128i& abef, __m128i& cdgh, const unsigned char* block, __m128i byte_swap,
    std::integer_sequence<int, J...>) {
  __m128i m[4];
  (shani_group<J>(abef, cdgh, m, block, byte_swap), ...);
}

STOFLOW_SHA_NI void compress_sha_ni(uint32_t* state, const unsigned char* data, size_t blocks) {
  // Big-endian words: reverse the bytes of each 32-bit lane.
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));
  __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));
  __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
  __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
  __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
  __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
  for (; blocks > 0; --blocks, data += 64) {
    __m128i abef_before = abef, cdgh_before = cdgh;
    shani_block(abef, cdgh, data, byte_swap, std::make_integer_sequence<int, 16>());
    abef = _mm_add_epi32(abef, abef_before);
    cdgh = _mm_add_epi32(cdgh, cdgh_before);
  }
  __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
  __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), _mm_alignr_epi8(dchg, feba, 8));
}

// CPUID leaf 1, ECX: SSSE3 (bit 9) and SSE4.1 (bit 19); leaf 7 subleaf 0,
// EBX: SHA (bit 29). Only XMM registers are used, which every x86-64 OS
// saves, so no XGETBV check is needed.
bool cpu_has_sha_ni() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  bool ssse3 = (ecx >> 9) & 1, sse41 = (ecx >> 19) & 1;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  return ssse3 && sse41 && ((ebx >> 29) & 1);
}

#else

bool cpu_has_sha_ni() {
  return false;
}

#endif

Sha256::CompressFn compress_for(Sha256Path path) {
#if STOFLOW_SHA256_X86
  if (path == Sha256Path::kShaNi) return compress_sha_ni;
#endif
  (void)path;
  return compress_portable;
}

Sha256Path best_path() {
  static const Sha256Path best = cpu_has_sha_ni() ? Sha256Path::kShaNi : Sha256Path::kPortable;
  return best;
}

std::atomic<Sha256Path>& chosen_path() {
  static std::atomic<Sha256Path> path{best_path()};
  return path;
}

}  // namespace

namespace detail {

bool sha256_path_available(Sha256Path path) {
  return path == Sha256Path::kPortable || best_path() == Sha256Path::kShaNi;
}

Sha256Path sha256_path() {
  return chosen_path().load(std::memory_order_relaxed);
}

void set_sha256_path(Sha256Path path) {
  if (!sha256_path_available(path)) {
    throw std::invalid_argument("this CPU has no SHA extensions (SHA-NI with SSSE3 and SSE4.1)");
  }
  chosen_path().store(path, std::memory_order_relaxed);
}

}  // namespace detail

Sha256::Sha256() : state_(kInitialState), compress_(compress_for(detail::sha256_path())) {}

void Sha256::update(const void* data, size_t size) {
  if (finished_) throw std::logic_error("SHA-256 updated after its digest was taken");
  if (size == 0) return;
  const auto* bytes = static_cast<const unsigned char*>(data);
  total_bytes_ += size;
  if (block_used_ > 0) {
    size_t take = std::min(size, block_.size() - block_used_);
    std::memcpy(block_.data() + block_used_, bytes, take);
    block_used_ += take;
    bytes += take;
    size -= take;
    if (block_used_ < block_.size()) return;
    compress_(state_.data(), block_.data(), 1);
    block_used_ = 0;
  }
  // Whole blocks straight from the caller's buffer, without copying them.
  if (size_t blocks = size / block_.size(); blocks > 0) {
    compress_(state_.data(), bytes, blocks);
    bytes += blocks * block_.size();
    size -= blocks * block_.size();
  }
  if (size > 0) {
    std::memcpy(block_.data(), bytes, size);
    block_used_ = size;
  }
}

std::array<unsigned char, 32> Sha256::digest() {
  if (finished_) throw std::logic_error("SHA-256 digest taken twice");
  finished_ = true;
  // FIPS 180-4, 5.1.1: a 1 bit, zeros up to 448 bits mod 512, then the
  // message length in bits as a 64-bit big-endian number.
  uint64_t bit_length = total_bytes_ * 8;
  block_[block_used_++] = 0x80;
  if (block_used_ > 56) {
    std::fill(block_.begin() + static_cast<std::ptrdiff_t>(block_used_), block_.end(), 0);
    compress_(state_.data(), block_.data(), 1);
    block_used_ = 0;
  }
  std::fill(block_.begin() + static_cast<std::ptrdiff_t>(block_used_), block_.begin() + 56, 0);
  for (int i = 0; i < 8; ++i)
    block_[56 + i] = static_cast<unsigned char>(bit_length >> (56 - 8 * i));
  compress_(state_.data(), block_.data(), 1);
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
  static constexpr char kDigits[] = "0123456789abcdef";
  auto bytes = digest();
  std::string out(2 * bytes.size(), '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xF];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256 hash;
  hash.update(data.data(), data.size());
  return hash.hex_digest();
}

}  // namespace stoflow
