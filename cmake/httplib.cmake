# cpp-httplib, from the full single header of Debian's source package
# (scripts/lib/common.sh, fetch_debian_source), built without TLS and without
# compression: CPPHTTPLIB_OPENSSL_SUPPORT, _ZLIB_SUPPORT and _BROTLI_SUPPORT
# stay undefined, so no process of ours maps libssl, libcrypto, libz or brotli.
#
# The header is split as upstream's split.py does: the part between its two
# border lines (the non-template implementation) goes to httplib.cc, compiled
# once into the static library stoflow_httplib, and every other translation
# unit includes the declarations only.
#
# Defines the target stoflow_httplib.

set(STOFLOW_HTTPLIB_DIR "" CACHE PATH
    "cpp-httplib's unpacked source (holding httplib.h); scripts/test, demo, bench and fuzz pass it")

set(_httplib_help
    "Run ./scripts/deps (as root the first time: it fetches Debian's cpp-httplib source into\
 build/deps/) and pass what it prints:\n\
   cmake -S . -B build $(./scripts/deps) ...\n\
./scripts/test, ./scripts/demo, ./scripts/bench and ./scripts/fuzz do this themselves.")
if(STOFLOW_HTTPLIB_DIR STREQUAL "")
  message(FATAL_ERROR "STOFLOW_HTTPLIB_DIR is not set: it names cpp-httplib's source.\n${_httplib_help}")
endif()
set(_httplib_src "${STOFLOW_HTTPLIB_DIR}/httplib.h")
if(NOT EXISTS "${_httplib_src}")
  message(FATAL_ERROR "STOFLOW_HTTPLIB_DIR=${STOFLOW_HTTPLIB_DIR} holds no httplib.h.\n${_httplib_help}")
endif()

file(READ "${_httplib_src}" _httplib_text)
set(_border "// ----------------------------------------------------------------------------")
string(FIND "${_httplib_text}" "${_border}" _first)
string(FIND "${_httplib_text}" "${_border}" _last REVERSE)
string(FIND "${_httplib_text}" "#define CPPHTTPLIB_VERSION" _version_at)
if(_first EQUAL -1 OR _first EQUAL _last OR _version_at EQUAL -1)
  message(FATAL_ERROR "${_httplib_src} is not cpp-httplib's full single header (its declarations\
 only, as Debian's libcpp-httplib-dev installs it?): no implementation between two border lines.\n${_httplib_help}")
endif()
string(LENGTH "${_border}" _border_length)
math(EXPR _body_start "${_first} + ${_border_length}")
math(EXPR _body_length "${_last} - ${_body_start}")
math(EXPR _tail_start "${_last} + ${_border_length}")
string(SUBSTRING "${_httplib_text}" 0 ${_first} _head)
string(SUBSTRING "${_httplib_text}" ${_body_start} ${_body_length} _body)
string(SUBSTRING "${_httplib_text}" ${_tail_start} -1 _tail)
string(REPLACE "inline " "" _body "${_body}")

# Written only when changed, so a reconfigure rebuilds nothing.
function(_stoflow_write_if_changed path text)
  if(EXISTS "${path}")
    file(READ "${path}" old)
    if(old STREQUAL text)
      return()
    endif()
  endif()
  file(WRITE "${path}" "${text}")
endfunction()
set(_httplib_out "${CMAKE_BINARY_DIR}/httplib")
_stoflow_write_if_changed("${_httplib_out}/httplib.h" "${_head}${_tail}")
_stoflow_write_if_changed("${_httplib_out}/httplib.cc" "\
#if defined(CPPHTTPLIB_OPENSSL_SUPPORT) || defined(CPPHTTPLIB_ZLIB_SUPPORT) || \
defined(CPPHTTPLIB_BROTLI_SUPPORT)
#error \"cpp-httplib is built without TLS or compression (cmake/httplib.cmake)\"
#endif
#include \"httplib.h\"
namespace httplib {
${_body}
} // namespace httplib
")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_httplib_src}")

string(REGEX MATCH "#define CPPHTTPLIB_VERSION \"([^\"]*)\"" _ "${_head}")
message(STATUS "cpp-httplib ${CMAKE_MATCH_1} from ${STOFLOW_HTTPLIB_DIR} (no TLS, no compression)")

add_library(stoflow_httplib STATIC "${_httplib_out}/httplib.cc")
# Someone else's code: its warnings are not ours to fix (-Werror).
target_compile_options(stoflow_httplib PRIVATE -w)
# SYSTEM: no warnings from its header in our translation units either.
target_include_directories(stoflow_httplib SYSTEM PUBLIC "${_httplib_out}")
target_link_libraries(stoflow_httplib PUBLIC Threads::Threads)
