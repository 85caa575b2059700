// base64 (RFC 4648, section 4: standard alphabet, '=' padding, no line
// breaks) through tables, a whole group at a time: encoding turns 12 bits
// into two characters with one lookup, 12 bytes per step; decoding reads 4
// characters into 3 bytes with four lookups and one check. Only standard
// headers, and nothing that depends on the byte order.
#include <cstring>
#include <stdexcept>

#include "util/crypto.h"

namespace stoflow {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Entry i is the two characters of the 12 bits i.
using Pair = std::array<char, 2>;
constexpr std::array<Pair, 4096> kPairs = [] {
  std::array<Pair, 4096> pairs{};
  for (unsigned i = 0; i < 4096; ++i) pairs[i] = {kAlphabet[i >> 6], kAlphabet[i & 63]};
  return pairs;
}();

// Eight characters for the 48 bits of `bits`.
inline void put_eight(char* out, uint64_t bits) {
  std::memcpy(out, kPairs[(bits >> 36) & 0xFFF].data(), 2);
  std::memcpy(out + 2, kPairs[(bits >> 24) & 0xFFF].data(), 2);
  std::memcpy(out + 4, kPairs[(bits >> 12) & 0xFFF].data(), 2);
  std::memcpy(out + 6, kPairs[bits & 0xFFF].data(), 2);
}

// Compilers turn this into one load and a byte swap.
inline uint64_t load_be64(const unsigned char* p) {
  return (uint64_t{p[0]} << 56) | (uint64_t{p[1]} << 48) | (uint64_t{p[2]} << 40) |
         (uint64_t{p[3]} << 32) | (uint64_t{p[4]} << 24) | (uint64_t{p[5]} << 16) |
         (uint64_t{p[6]} << 8) | uint64_t{p[7]};
}

// Characters 0 to 3 of a group: their 6 bits placed where they go in the
// group's 24, or kBad (above those 24) for anything outside the alphabet, '='
// included: the padding is checked apart, in the last group.
constexpr uint32_t kBad = 0x01000000;
constexpr std::array<std::array<uint32_t, 256>, 4> kDecode = [] {
  std::array<std::array<uint32_t, 256>, 4> tables{};
  for (int position = 0; position < 4; ++position) {
    tables[position].fill(kBad);
    for (uint32_t value = 0; value < 64; ++value) {
      auto c = static_cast<unsigned char>(kAlphabet[value]);
      tables[position][c] = value << (18 - 6 * position);
    }
  }
  return tables;
}();

inline uint32_t decode_group(const unsigned char* in) {
  return kDecode[0][in[0]] | kDecode[1][in[1]] | kDecode[2][in[2]] | kDecode[3][in[3]];
}

// Called once the text is known to be wrong: says what, and where.
[[noreturn]] void reject(std::string_view text) {
  if (text.size() % 4 != 0) {
    throw std::invalid_argument("base64 text of " + std::to_string(text.size()) +
                                " characters: not a multiple of 4");
  }
  size_t padding_from = text.size();
  if (text.ends_with("==")) {
    padding_from -= 2;
  } else if (text.ends_with("=")) {
    padding_from -= 1;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '=' && i < padding_from) {
      throw std::invalid_argument("base64 padding '=' at offset " + std::to_string(i) +
                                  ", before the end of the text");
    }
    if (c != '=' && kDecode[0][c] == kBad) {
      static constexpr char kDigits[] = "0123456789abcdef";
      throw std::invalid_argument(std::string("base64 text has the byte 0x") + kDigits[c >> 4] +
                                  kDigits[c & 15] + ", not in its alphabet, at offset " +
                                  std::to_string(i));
    }
  }
  throw std::invalid_argument(
      "base64 text ends in a group whose bits past the data are not zero (not the text of any "
      "bytes)");
}

}  // namespace

std::string base64_encode(std::span<const unsigned char> data) {
  const unsigned char* in = data.data();
  size_t left = data.size();
  std::string out(4 * ((left + 2) / 3), '\0');
  char* o = out.data();
  // 12 bytes, 16 characters at a time: bytes 0 to 7, and 4 to 11 (of which
  // the last 6 are the second half), read as big-endian words.
  for (; left >= 12; in += 12, left -= 12, o += 16) {
    put_eight(o, load_be64(in) >> 16);
    put_eight(o + 8, load_be64(in + 4) & 0xFFFFFFFFFFFF);
  }
  for (; left >= 3; in += 3, left -= 3, o += 4) {
    uint32_t bits = (uint32_t{in[0]} << 16) | (uint32_t{in[1]} << 8) | in[2];
    std::memcpy(o, kPairs[bits >> 12].data(), 2);
    std::memcpy(o + 2, kPairs[bits & 0xFFF].data(), 2);
  }
  if (left > 0) {
    uint32_t bits = (uint32_t{in[0]} << 16) | (left == 2 ? uint32_t{in[1]} << 8 : 0);
    std::memcpy(o, kPairs[bits >> 12].data(), 2);
    o[2] = left == 2 ? kAlphabet[(bits >> 6) & 63] : '=';
    o[3] = '=';
  }
  return out;
}

std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) reject(text);
  if (text.empty()) return {};
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  std::string out(text.size() / 4 * 3 - padding, '\0');
  char* o = out.data();
  // Every group but the last, whole; a '=' among them fails the lookup.
  const unsigned char* last = in + text.size() - 4;
  for (; in < last; in += 4, o += 3) {
    uint32_t bits = decode_group(in);
    if (bits >= kBad) reject(text);
    o[0] = static_cast<char>(bits >> 16);
    o[1] = static_cast<char>(bits >> 8);
    o[2] = static_cast<char>(bits);
  }
  // The last: "xxxx", "xxx=" or "xx==", with the bits past the data zero,
  // as base64_encode writes them.
  uint32_t bits = kDecode[0][in[0]] | kDecode[1][in[1]];
  if (padding < 2) bits |= kDecode[2][in[2]];
  if (padding < 1) bits |= kDecode[3][in[3]];
  uint32_t unused = padding == 2 ? 0xFFFF : padding == 1 ? 0xFF : 0;
  if (bits >= kBad || (bits & unused) != 0) reject(text);
  o[0] = static_cast<char>(bits >> 16);
  if (padding < 2) o[1] = static_cast<char>(bits >> 8);
  if (padding < 1) o[2] = static_cast<char>(bits);
  return out;
}

}  // namespace stoflow
