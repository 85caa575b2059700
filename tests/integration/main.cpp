#define BOOST_TEST_MODULE stoflow_integration
#include <boost/test/unit_test.hpp>
