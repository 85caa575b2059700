# Run as `cmake -DINPUT=file -DOUTPUT=header -DNAME=identifier -P embed_text.cmake`: writes a C++
# header that holds the text of INPUT as `inline constexpr std::string_view NAME`.
#
# A raw string literal keeps the generated header readable (it is the table itself, verbatim); the
# delimiter is checked so that no content can ever end the literal early.
foreach(var INPUT OUTPUT NAME)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_text.cmake: ${var} is not set")
  endif()
endforeach()

file(READ "${INPUT}" content)
set(delimiter "stoflow_embed")
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter )${delimiter}\"")
endif()

set(header "// Generated from ${INPUT} by embed_text.cmake at build time: do not edit.\n")
string(APPEND header "#pragma once\n#include <string_view>\n\n")
string(APPEND header "inline constexpr std::string_view ${NAME} =\n")
string(APPEND header "    R\"${delimiter}(${content})${delimiter}\";\n")

# Written through a temporary file and copied only when different, so an unchanged table does not
# recompile what includes it.
file(WRITE "${OUTPUT}.tmp" "${header}")
configure_file("${OUTPUT}.tmp" "${OUTPUT}" COPYONLY)
file(REMOVE "${OUTPUT}.tmp")
