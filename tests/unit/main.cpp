#define BOOST_TEST_MODULE stoflow_unit
#ifdef STOFLOW_BOOST_TEST_HEADER_ONLY
#include <boost/test/included/unit_test.hpp>  // the Windows build: no Boost library for MinGW
#else
#include <boost/test/unit_test.hpp>
#endif

#include "util/log.h"

// The engine logs every transition at info level; tests only want problems.
struct QuietLogs {
  QuietLogs() {
    stoflow::log::Options options;
    options.level = stoflow::log::Level::kError;
    stoflow::log::configure(options);
  }
};
BOOST_TEST_GLOBAL_FIXTURE(QuietLogs);
