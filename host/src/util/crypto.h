#pragma once
// Thin wrappers over OpenSSL's libcrypto: SHA-256 and base64 are security and
// integrity primitives that a maintained library does better than our own code.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace stoflow {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  std::string hex_digest();  // lowercase, 64 characters

 private:
  void* context_;
};

std::string sha256_hex(std::string_view data);
std::string base64_encode(std::span<const unsigned char> data);

// RFC 4122 version 4, from the OS's CSPRNG.
std::string random_uuid();
std::string random_hex(size_t bytes);

bool is_sha256_hex(std::string_view text);

}  // namespace stoflow
