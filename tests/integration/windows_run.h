#pragma once
// The integration suite's Windows run: the same tests drive
// build/windows/stoflow-host.exe through wine (STOFLOW_TEST_HOST_BIN and
// STOFLOW_TEST_HOST_WRAPPER, see tests/CMakeLists.txt). What only a POSIX host
// can show is skipped there, with its reason printed.
#include <boost/test/unit_test.hpp>

#include "test_support.h"

namespace stoflow::testing {

// A Boost.Test precondition: `*posix_host_only("reads /proc")` on a test or
// suite skips it in the Windows run, and Boost.Test prints why.
inline auto posix_host_only(const char* why) {
  return boost::unit_test::precondition([why](boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result result(!windows_host());
    if (!result) {
      result.message() << "POSIX host only, skipped in the Windows run: " << why;
    }
    return result;
  });
}

// Skips what the Windows build does not do yet (serve, photo URLs, doctor's
// browser checks), with what is missing printed.
inline auto not_yet_on_windows(const char* what) {
  return boost::unit_test::precondition([what](boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result result(!windows_host());
    if (!result)
      result.message() << "not ported to Windows yet, skipped in the Windows run: " << what;
    return result;
  });
}

}  // namespace stoflow::testing
