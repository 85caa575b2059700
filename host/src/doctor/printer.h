#pragma once
#include <ostream>

#include "doctor/doctor.h"

namespace stoflow::doctor {

// One block per browser (then the database) with plain-ASCII markers ("ok", "BAD", "MISSING"),
// each problem followed by its fix, and a one-line summary.
void print_text(const Report& report, std::ostream& out);

// to_json(report), indented.
void print_json(const Report& report, std::ostream& out);

}  // namespace stoflow::doctor
