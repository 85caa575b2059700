# The Debian package: `cpack -G DEB` in a build directory (scripts/package does it in
# build/package; tests/CMakeLists.txt does it for the tests/packages suite) writes
# stoflow-companion_<version>_<arch>.deb, <version> being this project's VERSION, holding
#
#   /usr/bin/stoflow-host                                    the host (the dashboard is inside it)
#   /etc/opt/chrome/native-messaging-hosts/com.stoflow.companion.json     Google Chrome
#   /etc/chromium/native-messaging-hosts/com.stoflow.companion.json       Chromium, Brave, Vivaldi
#   /usr/lib/mozilla/native-messaging-hosts/com.stoflow.companion.json    Firefox
#   /usr/share/stoflow-companion/extension/                  the extension, to load unpacked
#
# The manifests are rendered at build time from manifest/*.json.in for /usr/bin/stoflow-host: the
# very bytes `stoflow-host install --system` writes there. Those in /etc are conffiles.
#
# Every install() rule of this file is in the component "deb", EXCLUDE_FROM_ALL: a plain
# `cmake --install build --prefix DIR` still installs the host alone (DIR/bin/stoflow-host).

set(STOFLOW_PACKAGE_HOST_PATH /usr/bin/stoflow-host)
set(STOFLOW_PACKAGE_MAINTAINER "StoFlow Companion maintainers <maintainers@stoflow.app>"
    CACHE STRING "The .deb's Maintainer field: Name <address>")
set(package_files ${CMAKE_BINARY_DIR}/package-files)

foreach(flavour chrome firefox)
  set(template ${PROJECT_SOURCE_DIR}/manifest/${flavour}.json.in)
  add_custom_command(
    OUTPUT ${package_files}/${flavour}.json
    COMMAND ${CMAKE_COMMAND} -DTEMPLATE=${template} -DHOST_PATH=${STOFLOW_PACKAGE_HOST_PATH}
            -DOUTPUT=${package_files}/${flavour}.json
            -P ${PROJECT_SOURCE_DIR}/cmake/render_manifest.cmake
    DEPENDS ${template} ${PROJECT_SOURCE_DIR}/cmake/render_manifest.cmake
    COMMENT "Rendering the .deb's ${flavour} manifest for ${STOFLOW_PACKAGE_HOST_PATH}"
    VERBATIM)
endforeach()
add_custom_target(package_manifests ALL
  DEPENDS ${package_files}/chrome.json ${package_files}/firefox.json)

set(manifest_name com.stoflow.companion.json)
set(etc_manifests
  /etc/opt/chrome/native-messaging-hosts/${manifest_name}
  /etc/chromium/native-messaging-hosts/${manifest_name})
foreach(file IN LISTS etc_manifests)
  get_filename_component(dir ${file} DIRECTORY)
  install(FILES ${package_files}/chrome.json DESTINATION ${dir} RENAME ${manifest_name}
          COMPONENT deb EXCLUDE_FROM_ALL)
endforeach()
install(FILES ${package_files}/firefox.json
        DESTINATION /usr/lib/mozilla/native-messaging-hosts RENAME ${manifest_name}
        COMPONENT deb EXCLUDE_FROM_ALL)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/extension/
        DESTINATION share/stoflow-companion/extension
        COMPONENT deb EXCLUDE_FROM_ALL)

# Files under /etc are conffiles (Debian Policy 10.7.2): an administrator's change, or removal,
# survives an upgrade.
list(JOIN etc_manifests "\n" conffiles)
file(WRITE ${package_files}/conffiles "${conffiles}\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME stoflow-companion)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "StoFlow")
set(CPACK_PACKAGE_CONTACT "${STOFLOW_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "local companion that publishes second-hand items to Vinted from the browser")
# Lines of at most 79 characters once dpkg indents them by one.
set(CPACK_PACKAGE_DESCRIPTION
    "StoFlow Companion keeps a seller's catalogue of second-hand products and\n"
    "a queue of publications in a local SQLite database, and publishes them on\n"
    "Vinted through a browser extension that runs each request in the seller's\n"
    "logged-in session. No cloud service is involved.\n"
    "\n"
    "This package installs stoflow-host (the native messaging host, command\n"
    "line and local dashboard), registers it system-wide with Google Chrome,\n"
    "Chromium, Brave, Vivaldi and Firefox, and ships the extension, to load\n"
    "unpacked, in /usr/share/stoflow-companion/extension.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: from the libraries the binary links (dpkg-shlibdeps). libcurl is not among them: the
# host loads it only to download photo URLs at import (host/src/fetch), hence Recommends.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libcurl4")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${package_files}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# One package made of the host's component and this file's.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL host deb)
include(CPack)
