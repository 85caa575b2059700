#pragma once
// The `doctor` command line: parses its own options (--browser and --chrome-user-data-dir repeat,
// which the general CLI parser does not support), builds a Setup from the real environment, and
// prints the report.
#include <ostream>
#include <string>
#include <vector>

namespace stoflow::doctor {

// Whether argv (without the program name) is `[--db PATH] doctor ...`.
bool is_doctor_command(const std::vector<std::string>& args);

// Exit status: 0 every installed browser is registered and every manifest present is sound,
// 1 otherwise (or doctor could not run), 2 bad usage.
int run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

void print_usage(std::ostream& out);

}  // namespace stoflow::doctor
