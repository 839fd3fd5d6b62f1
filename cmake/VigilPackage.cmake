# What `cmake --install` places, and the Debian package `make package` builds
# with CPack (README "systemd and packaging"). Paths below are relative to
# the install prefix (/usr for the package):
#   bin/vigil                                   (agent/CMakeLists.txt)
#   lib/systemd/system/vigil.service, vigil@.service
#   share/man/man1/vigil.1                      (help2man, from the CLI's help)
#   share/doc/vigil/examples/vigil.toml         (etc/vigil.example.toml)
#   share/vigil/hooks/notify.sh                 (etc/hooks/notify.sh)
# The units and the example name /usr/bin/vigil and /usr/share/vigil; another
# prefix is written into them at install time. Their config stays in
# /etc/vigil and their state in /var/lib/vigil whatever the prefix.
include(GNUInstallDirs)

# `cmake --install` and cpack build nothing: `make package` builds what they
# take (vigil, the man page), not every test.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# The man page, generated from the binary at build time: help2man over
# `vigil --help` and `--version`, with a COMMANDS section holding the --help
# of every command (cmake/man_commands.py) and the sections of
# etc/vigil.h2m. Part of ALL, but not a dependency of the vigil target:
# `make demo` builds vigil alone. In <build>/man/man1, a MANPATH directory.
find_program(HELP2MAN_PROGRAM help2man)
find_package(Python3 COMPONENTS Interpreter)
if(HELP2MAN_PROGRAM AND Python3_Interpreter_FOUND)
  set(VIGIL_MAN_DIR ${CMAKE_BINARY_DIR}/man)
  set(VIGIL_MAN_PAGE ${VIGIL_MAN_DIR}/man1/vigil.1)
  add_custom_command(OUTPUT ${VIGIL_MAN_PAGE}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${VIGIL_MAN_DIR}/man1
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/cmake/man_commands.py
            $<TARGET_FILE:vigil> ${VIGIL_MAN_DIR}/commands.h2m
    COMMAND ${HELP2MAN_PROGRAM} --no-info --section=1
            "--name=cluster membership daemon: heartbeats, gossip, events, hooks"
            --include=${VIGIL_MAN_DIR}/commands.h2m
            --include=${PROJECT_SOURCE_DIR}/etc/vigil.h2m
            --output=${VIGIL_MAN_PAGE} $<TARGET_FILE:vigil>
    DEPENDS vigil ${PROJECT_SOURCE_DIR}/etc/vigil.h2m ${PROJECT_SOURCE_DIR}/cmake/man_commands.py
    COMMENT "Generating the man page vigil.1 (help2man)"
    VERBATIM)
  add_custom_target(vigil_man ALL DEPENDS ${VIGIL_MAN_PAGE})
  install(FILES ${VIGIL_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(WARNING "help2man or python3 not found: no man page (Debian: apt-get install help2man)")
endif()

# The units and the example config, with the install prefix's paths.
install(CODE "
  set(vigil_source \"${PROJECT_SOURCE_DIR}\")
  set(vigil_staging \"${CMAKE_BINARY_DIR}/install-staging\")
  set(bindir \"${CMAKE_INSTALL_BINDIR}\")
  set(datadir \"${CMAKE_INSTALL_DATADIR}\")
  if(NOT IS_ABSOLUTE \"\${bindir}\")
    set(bindir \"\${CMAKE_INSTALL_PREFIX}/\${bindir}\")
  endif()
  if(NOT IS_ABSOLUTE \"\${datadir}\")
    set(datadir \"\${CMAKE_INSTALL_PREFIX}/\${datadir}\")
  endif()
  file(MAKE_DIRECTORY \"\${vigil_staging}\")
  foreach(file systemd/vigil.service systemd/vigil@.service vigil.example.toml)
    file(READ \"\${vigil_source}/etc/\${file}\" text)
    string(REPLACE \"/usr/bin/vigil\" \"\${bindir}/vigil\" text \"\${text}\")
    string(REPLACE \"/usr/share/vigil/\" \"\${datadir}/vigil/\" text \"\${text}\")
    get_filename_component(name \"\${file}\" NAME)
    file(WRITE \"\${vigil_staging}/\${name}\" \"\${text}\")
  endforeach()
  file(INSTALL \"\${vigil_staging}/vigil.service\" \"\${vigil_staging}/vigil@.service\"
       DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  file(RENAME \"\${vigil_staging}/vigil.example.toml\" \"\${vigil_staging}/vigil.toml\")
  file(INSTALL \"\${vigil_staging}/vigil.toml\"
       DESTINATION \"\${datadir}/doc/vigil/examples\"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
")
install(PROGRAMS ${PROJECT_SOURCE_DIR}/etc/hooks/notify.sh
  DESTINATION ${CMAKE_INSTALL_DATADIR}/vigil/hooks)

# The Debian package: `make package`, or `cpack` in the build directory.
set(VIGIL_PACKAGE_MAINTAINER "vigil maintainers <maintainers@vigil.invalid>"
  CACHE STRING "Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vigil)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${VIGIL_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "cluster membership daemon: heartbeats over UDP, gossip, events, hooks")
# The long description; CPack puts the summary above it and indents it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "vigil runs one daemon per node of a high-availability cluster. The daemons
exchange encrypted heartbeats over UDP (unicast or multicast), replicate each
node's JSON document, tell which peers are alive or stale, count the votes of
a split brain, and report every change as an event: to hook scripts, event
streams, webhooks and NATS. An HTTP API on a Unix socket serves the CLI.

The package installs the vigil.service and vigil@.service units (Type=notify,
with a watchdog), a man page, an example config and a sample hook.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Depends: from the libraries the binary links (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The RelWithDebInfo binary holds its debug information: the package does not.
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/cmake/debian/postinst
  ${PROJECT_SOURCE_DIR}/cmake/debian/prerm
  ${PROJECT_SOURCE_DIR}/cmake/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
