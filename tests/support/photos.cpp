#include "photos.h"

#include <zlib.h>

#include <cstdint>
#include <random>

namespace stoflow::testing {

namespace {

void put_u32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

void put_u32_le(std::string& out, uint32_t v) {
  for (int shift = 0; shift <= 24; shift += 8) out.push_back(static_cast<char>(v >> shift));
}

void put_chunk(std::string& out, const std::string& type, const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  std::string body = type + data;
  out += body;
  put_u32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                           static_cast<uInt>(body.size()))));
}

}  // namespace

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string bytes(n, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng() & 0xFF);
  return bytes;
}

std::string png_bytes(size_t size, unsigned seed) {
  std::string png = "\x89PNG\r\n\x1A\n";
  std::string ihdr;
  put_u32(ihdr, 1);
  put_u32(ihdr, 1);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);
  put_chunk(png, "IHDR", ihdr);
  std::string pixel("\x00\x10\x20\x30", 4);
  uLongf packed_size = compressBound(4);
  std::string packed(packed_size, '\0');
  compress(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
           reinterpret_cast<const Bytef*>(pixel.data()), 4);
  packed.resize(packed_size);
  put_chunk(png, "IDAT", packed);
  size_t fixed = png.size() + 12 + 12;
  if (size > fixed) put_chunk(png, "stFw", random_bytes(size - fixed, seed));
  put_chunk(png, "IEND", "");
  return png;
}

std::string jpeg_like_bytes(size_t size, unsigned seed) {
  std::string bytes = "\xFF\xD8\xFF\xE0";
  bytes += random_bytes(size > 6 ? size - 6 : 0, seed);
  bytes += "\xFF\xD9";
  return bytes;
}

std::string webp_like_bytes(size_t size, unsigned seed) {
  std::string payload = random_bytes(size > 20 ? size - 20 : 0, seed);
  std::string chunk = "VP8L";
  put_u32_le(chunk, static_cast<uint32_t>(payload.size()));
  chunk += payload;
  std::string bytes = "RIFF";
  put_u32_le(bytes, static_cast<uint32_t>(4 + chunk.size()));
  bytes += "WEBP" + chunk;
  return bytes;
}

}  // namespace stoflow::testing
