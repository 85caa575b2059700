#include "install/registry.h"

namespace stoflow::install {

#if defined(_WIN32)
// WINDOWS PORT: implement Registry over HKEY_CURRENT_USER (RegGetValueW with RRF_RT_REG_SZ,
// RegSetKeyValueW with REG_SZ, RegDeleteTreeW then RegDeleteKeyW; keys and values converted from
// UTF-8) and return it here. installer.cpp already does everything else for the windows rows.
#error "stoflow::install::system_registry() has no Windows implementation yet (see registry.h)"
#else
std::unique_ptr<Registry> system_registry() {
  return nullptr;  // no registry on this system: the windows rows are not for it
}
#endif

}  // namespace stoflow::install
