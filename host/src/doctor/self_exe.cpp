#include "doctor/self_exe.h"

#include <cstdint>
#include <vector>

#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif

namespace stoflow::doctor {

namespace {

std::filesystem::path raw_executable_path() {
#if defined(__linux__)
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : path;
#elif defined(__APPLE__)
  uint32_t size = 0;
  _NSGetExecutablePath(nullptr, &size);  // asks for the size the buffer needs
  std::vector<char> buffer(size + 1, '\0');
  if (_NSGetExecutablePath(buffer.data(), &size) != 0) return {};
  return std::filesystem::path(buffer.data());
#else
  return {};
#endif
}

}  // namespace

std::filesystem::path current_executable() {
  auto raw = raw_executable_path();
  if (raw.empty()) return {};
  std::error_code ec;
  auto canonical = std::filesystem::canonical(raw, ec);
  return ec ? raw : canonical;
}

bool same_file_path(const std::filesystem::path& a, const std::filesystem::path& b) {
  if (a.empty() || b.empty()) return false;
  std::error_code ec_a, ec_b;
  auto canonical_a = std::filesystem::canonical(a, ec_a);
  auto canonical_b = std::filesystem::canonical(b, ec_b);
  return !ec_a && !ec_b && canonical_a == canonical_b;
}

}  // namespace stoflow::doctor
