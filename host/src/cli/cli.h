#pragma once
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace stoflow::cli {

// Exit codes: 0 done, 1 the request failed (not found, refused, ...), 2 usage.
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;
inline constexpr int kUsage = 2;

// Runs one command line (argv without the program name). Results go to `out`,
// messages to `err`.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

void print_usage(std::ostream& out);

}  // namespace stoflow::cli
