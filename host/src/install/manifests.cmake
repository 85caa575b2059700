# Included by host/CMakeLists.txt after doctor/browser_table.cmake (which sets STOFLOW_GENERATED_DIR).
#
# `stoflow-host install` writes the manifests installer/install.sh writes, so it carries the
# installer's own templates, manifest/*.json.in, compiled in at build time (and regenerated
# whenever a template changes) rather than a copy that could drift.
foreach(flavour chrome firefox)
  set(template ${PROJECT_SOURCE_DIR}/manifest/${flavour}.json.in)
  set(header ${STOFLOW_GENERATED_DIR}/install/${flavour}_json_in.h)
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${template} -DOUTPUT=${header}
            -DNAME=kEmbedded_${flavour}_template
            -P ${PROJECT_SOURCE_DIR}/host/src/doctor/embed_text.cmake
    DEPENDS ${template} ${PROJECT_SOURCE_DIR}/host/src/doctor/embed_text.cmake
    COMMENT "Embedding manifest/${flavour}.json.in for stoflow-host install"
    VERBATIM)
  target_sources(stoflow_core PRIVATE ${header})
endforeach()
