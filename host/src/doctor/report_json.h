#pragma once
#include <nlohmann/json.hpp>

#include "doctor/doctor.h"

namespace stoflow::doctor {

// The machine-readable report printed by `doctor --json` (described in docs/install.md).
nlohmann::json to_json(const Report& report);

}  // namespace stoflow::doctor
