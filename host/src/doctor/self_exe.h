#pragma once
#include <filesystem>

namespace stoflow::doctor {

// The canonical path of the running executable, or an empty path when the OS will not say. Used to
// tell whether a manifest names this very stoflow-host or another copy.
std::filesystem::path current_executable();

// Whether two paths name the same file once symbolic links and ".." are resolved; false when
// either cannot be resolved.
bool same_file_path(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace stoflow::doctor
