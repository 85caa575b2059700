# cmake -DTEMPLATE=manifest/chrome.json.in -DHOST_PATH=/usr/bin/stoflow-host -DOUTPUT=file
#       -P render_manifest.cmake
# Writes the host manifest that `stoflow-host install` would write for a host at HOST_PATH, by the
# same rule (host/src/install/manifest_text.h, render_manifest; installer/install.sh's
# render_manifest): the template without its trailing newlines, @HOST_PATH@ replaced by HOST_PATH
# as a JSON string body, one newline at the end. tests/packages checks the .deb's copies against
# what the packaged binary writes.
# The project's policies: without CMP0053, "@HOST_PATH@" below would be read as a variable.
cmake_minimum_required(VERSION 3.20)

foreach(var TEMPLATE HOST_PATH OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "render_manifest.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT HOST_PATH MATCHES "^/[-+./_A-Za-z0-9]+$")
  # Anything else would need the JSON escapes render_manifest applies; no package needs it.
  message(FATAL_ERROR "render_manifest.cmake: HOST_PATH '${HOST_PATH}' is not a plain absolute path")
endif()

file(READ "${TEMPLATE}" content)
string(FIND "${content}" "@HOST_PATH@" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${TEMPLATE} has no @HOST_PATH@ placeholder")
endif()
string(REGEX REPLACE "\n+$" "" content "${content}")
string(REPLACE "@HOST_PATH@" "${HOST_PATH}" content "${content}")
file(WRITE "${OUTPUT}" "${content}\n")
