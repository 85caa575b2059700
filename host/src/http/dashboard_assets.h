#pragma once
// The dashboard's files, compiled in (see cmake/embed_assets.cmake).
#include <string_view>
#include <vector>

namespace stoflow::http {

struct Asset {
  const char* path;  // "/" for index.html
  const char* content_type;
  std::string_view content;
};

const std::vector<Asset>& dashboard_assets();

}  // namespace stoflow::http
