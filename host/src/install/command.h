#pragma once
// The `install` and `uninstall` command lines: parse their own options (--browser and
// --chrome-user-data-dir repeat, which the general CLI parser does not support), build the Request
// and Environment from the process, and print what was done the way installer/install.sh and
// uninstall.sh print it.
#include <ostream>
#include <string>
#include <vector>

namespace stoflow::install {

// Whether argv (without the program name) is `install ...` or `uninstall ...`, options first or
// not.
bool is_install_command(const std::vector<std::string>& args);

// Exit status, as install.sh's: 0 done, 1 failure (something could not be written or removed, or
// the request cannot be carried out), 2 bad usage.
int run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

void print_usage(std::ostream& out);

}  // namespace stoflow::install
