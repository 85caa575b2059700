#pragma once
// Unit tests that only a POSIX system can run (FIFOs, coreutils): in the
// Windows build (unit_tests.exe under wine) they are skipped, and Boost.Test
// prints why at --log_level=test_suite. Their bodies are compiled on POSIX only.
#include <boost/test/unit_test.hpp>

namespace stoflow::testing {

inline auto posix_only(const char* why) {
  return boost::unit_test::precondition([why](boost::unit_test::test_unit_id) {
#ifdef _WIN32
    boost::test_tools::assertion_result result(false);
    result.message() << "POSIX only, skipped on Windows: " << why;
    return result;
#else
    (void)why;
    return boost::test_tools::assertion_result(true);
#endif
  });
}

}  // namespace stoflow::testing
