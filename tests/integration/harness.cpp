#include "harness.h"

#include <boost/test/unit_test.hpp>

namespace stoflow::testing {

std::vector<int64_t> HostEnv::import(const json& products) const {
  auto file = write_product_file(dir / "catalogue", products);
  auto r = cli({"products", "import", file.string(), "--json"});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "import failed: " + r.err);
  return json::parse(r.out).get<std::vector<int64_t>>();
}

int64_t HostEnv::product_with_photos(const std::string& title, const std::vector<size_t>& sizes,
                                     std::vector<std::string>* photos) const {
  std::vector<std::string> names;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string name = title + "-" + std::to_string(i + 1) + ".png";
    std::string bytes = png_bytes(sizes[i], static_cast<unsigned>(i * 31 + title.size()));
    write_file(dir / "catalogue" / name, bytes);
    names.push_back(name);
    if (photos) photos->push_back(bytes);
  }
  return import(json::array({vinted_product(title, names)}))[0];
}

std::string read_blob(HostProcess& host, const json& file_ref) {
  std::string blob = file_ref.at("$blob");
  std::string bytes;
  for (int guard = 0; guard < 1000; ++guard) {
    json chunk = host.result_of("blobs.read", {{"blob", blob},
                                               {"offset", bytes.size()},
                                               {"length", 512 * 1024}});
    BOOST_REQUIRE(chunk["size"] == file_ref.at("size"));
    bytes += base64_decode(chunk["data"]);
    if (chunk["eof"] == true) return bytes;
  }
  BOOST_FAIL("blob never reached eof");
  return bytes;
}

json vinted_response(const json& task) {
  std::string step = task["step"];
  int64_t id = task["id"];
  if (step.rfind("upload_photo_", 0) == 0) {
    return {{"id", 1000 + id}, {"url", "https://images.example/" + std::to_string(1000 + id)}};
  }
  if (step == "create_draft") return {{"draft", {{"id", 5000 + id}, {"status", "draft"}}}};
  if (step == "complete_draft") {
    return {{"item", {{"id", 9000 + id}, {"url", "https://www.vinted.fr/items/" + std::to_string(9000 + id)}}}};
  }
  return json::object();
}

}  // namespace stoflow::testing
