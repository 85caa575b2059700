# Included by host/CMakeLists.txt after stoflow_core is defined.
#
# `stoflow-host doctor` must look exactly where installer/install.sh writes, so it reads the
# installer's own table, compiled in at build time (and regenerated whenever the table changes)
# rather than a hand-made copy that would drift.
set(STOFLOW_BROWSERS_TSV ${PROJECT_SOURCE_DIR}/installer/browsers.tsv)
set(STOFLOW_GENERATED_DIR ${CMAKE_CURRENT_BINARY_DIR}/generated)
set(STOFLOW_BROWSERS_HEADER ${STOFLOW_GENERATED_DIR}/doctor/browsers_tsv.h)

add_custom_command(
  OUTPUT ${STOFLOW_BROWSERS_HEADER}
  COMMAND ${CMAKE_COMMAND} -DINPUT=${STOFLOW_BROWSERS_TSV} -DOUTPUT=${STOFLOW_BROWSERS_HEADER}
          -DNAME=kEmbeddedBrowsersTsv -P ${CMAKE_CURRENT_LIST_DIR}/embed_text.cmake
  DEPENDS ${STOFLOW_BROWSERS_TSV} ${CMAKE_CURRENT_LIST_DIR}/embed_text.cmake
  COMMENT "Embedding installer/browsers.tsv for stoflow-host doctor"
  VERBATIM)

target_sources(stoflow_core PRIVATE ${STOFLOW_BROWSERS_HEADER})
target_include_directories(stoflow_core PRIVATE ${STOFLOW_GENERATED_DIR})
