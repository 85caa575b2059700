// The Windows build's `install` and `uninstall` until the registry side of
// install/registry.h is written: installer\install.ps1 registers the host
// there (see docs/install.md).
#include <ostream>

#include "install/command.h"

namespace stoflow::install {

bool is_install_command(const std::vector<std::string>& args) {
  for (const auto& word : args) {
    if (word == "install" || word == "uninstall") return true;
    if (word.empty() || word[0] != '-') return false;
  }
  return false;
}

int run_command(const std::vector<std::string>&, std::ostream&, std::ostream& err) {
  err << "stoflow-host: install and uninstall are not available on Windows yet: run\n"
         "  powershell -ExecutionPolicy Bypass -File installer\\install.ps1\n";
  return 1;
}

void print_usage(std::ostream& out) {
  out << "install, uninstall: not available on Windows yet (installer\\install.ps1 registers the "
         "host)\n";
}

}  // namespace stoflow::install
