# The Windows (MinGW) build's third-party code, from Debian alone:
# - SQLite: the amalgamation (sqlite3.c, sqlite3.h) generated from Debian's
#   sqlite3 source package by scripts/build-windows, in -DSTOFLOW_SQLITE_DIR,
#   compiled into the static library stoflow_sqlite3 (alias SQLite::SQLite3);
# - nlohmann/json and Boost.Test: header-only, taken from the build machine's
#   /usr/include (nlohmann-json3-dev, libboost-test-dev) through links in the
#   build tree, so the rest of /usr/include (glibc's) stays out of sight.
set(STOFLOW_SQLITE_DIR "" CACHE PATH "SQLite's amalgamation (sqlite3.c, sqlite3.h); scripts/build-windows passes it")
if(NOT EXISTS "${STOFLOW_SQLITE_DIR}/sqlite3.c" OR NOT EXISTS "${STOFLOW_SQLITE_DIR}/sqlite3.h")
  message(FATAL_ERROR "STOFLOW_SQLITE_DIR='${STOFLOW_SQLITE_DIR}' holds no sqlite3.c and sqlite3.h: "
                      "build for Windows with ./scripts/build-windows")
endif()
enable_language(C)
add_library(stoflow_sqlite3 STATIC "${STOFLOW_SQLITE_DIR}/sqlite3.c")
target_include_directories(stoflow_sqlite3 SYSTEM PUBLIC "${STOFLOW_SQLITE_DIR}")
# Debian's libsqlite3 options (debian/rules) that can matter to us; no extension loading.
target_compile_definitions(stoflow_sqlite3 PRIVATE
  SQLITE_THREADSAFE=1 SQLITE_SECURE_DELETE SQLITE_ENABLE_COLUMN_METADATA
  SQLITE_ENABLE_DBSTAT_VTAB SQLITE_OMIT_LOAD_EXTENSION)
# SQLite's own code is not held to our warnings.
target_compile_options(stoflow_sqlite3 PRIVATE -w)
add_library(SQLite::SQLite3 ALIAS stoflow_sqlite3)

set(_host_headers "${CMAKE_BINARY_DIR}/host-headers")
file(MAKE_DIRECTORY "${_host_headers}")
foreach(dir nlohmann boost)
  if(NOT EXISTS "/usr/include/${dir}")
    message(FATAL_ERROR "/usr/include/${dir} is missing: install nlohmann-json3-dev and libboost-test-dev")
  endif()
  if(NOT EXISTS "${_host_headers}/${dir}")
    file(CREATE_LINK "/usr/include/${dir}" "${_host_headers}/${dir}" SYMBOLIC)
  endif()
endforeach()
add_library(nlohmann_json INTERFACE)
target_include_directories(nlohmann_json SYSTEM INTERFACE "${_host_headers}")
add_library(nlohmann_json::nlohmann_json ALIAS nlohmann_json)
# Boost.Test header-only (tests/unit/main.cpp includes boost/test/included/).
add_library(stoflow_boost_test INTERFACE)
target_include_directories(stoflow_boost_test SYSTEM INTERFACE "${_host_headers}")
target_compile_definitions(stoflow_boost_test INTERFACE STOFLOW_BOOST_TEST_HEADER_ONLY)
add_library(Boost::unit_test_framework ALIAS stoflow_boost_test)
