# What `cmake --install` puts where, and the Debian package CPack makes from
# it (docs/deploy.md). scripts/package.sh drives both: it installs into a
# staging folder for the portable bundle and runs cpack for the .deb.
include(GNUInstallDirs)

set(benchdist_tools bench-dist-coordinator bench-dist-generator bench-dist-control stdb-standin)
install(TARGETS ${benchdist_tools} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")

# Man pages from each tool's --help and --version (Debian's help2man), so
# `man bench-dist-generator` works where the package is installed. Built
# only when help2man is there: scripts/setup.sh installs it, and
# scripts/package.sh refuses to package without it.
find_program(BENCHDIST_HELP2MAN help2man)
set(benchdist_summary_bench-dist-coordinator "run measured epochs across bench-dist generators")
set(benchdist_summary_bench-dist-generator "drive SpacetimeDB's transfer module from one load machine")
set(benchdist_summary_bench-dist-control "start, watch and report bench-dist epochs")
set(benchdist_summary_stdb-standin "stand-in SpacetimeDB server for the transfer module")
if(BENCHDIST_HELP2MAN)
  set(man_pages)
  foreach(tool IN LISTS benchdist_tools)
    set(page "${CMAKE_BINARY_DIR}/man/${tool}.1")
    add_custom_command(
      OUTPUT "${page}.gz"
      COMMAND "${CMAKE_COMMAND}" -E make_directory "${CMAKE_BINARY_DIR}/man"
      # --no-discard-stderr: CLI11 prints nothing there, but an error would
      # otherwise vanish into an empty page. gzip -n: no time stamp, so the
      # same tool makes the same page.
      COMMAND "${BENCHDIST_HELP2MAN}" --no-info --no-discard-stderr --section=1 --source=bench-dist
              "--name=${benchdist_summary_${tool}}" --output=${page} $<TARGET_FILE:${tool}>
      COMMAND gzip -9nf "${page}"
      DEPENDS ${tool}
      COMMENT "Man page of ${tool}"
      VERBATIM)
    list(APPEND man_pages "${page}.gz")
  endforeach()
  add_custom_target(man_pages ALL DEPENDS ${man_pages})
  install(FILES ${man_pages} DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
endif()

set(benchdist_docdir "${CMAKE_INSTALL_DATADIR}/doc/bench-dist")
install(FILES README.md docs/deploy.md docs/operations.md DESTINATION "${benchdist_docdir}")
# Debian's copyright file and changelog (the bundle carries LICENSE itself:
# package.sh).
install(FILES deploy/debian/copyright DESTINATION "${benchdist_docdir}")
configure_file(deploy/debian/changelog.in "${CMAKE_BINARY_DIR}/debian/changelog" @ONLY)
add_custom_command(
  OUTPUT "${CMAKE_BINARY_DIR}/debian/changelog.gz"
  COMMAND gzip -9nkf "${CMAKE_BINARY_DIR}/debian/changelog"
  DEPENDS "${CMAKE_BINARY_DIR}/debian/changelog"
  VERBATIM)
add_custom_target(debian_changelog ALL DEPENDS "${CMAKE_BINARY_DIR}/debian/changelog.gz")
install(FILES "${CMAKE_BINARY_DIR}/debian/changelog.gz" DESTINATION "${benchdist_docdir}")
# The deploy/ files as examples. Never a token: the Kubernetes overlay reads
# one from deploy/kubernetes/overlays/example/token, which a developer may
# have made in this checkout. Nor the .gitignore that keeps it out of git.
install(DIRECTORY deploy/systemd deploy/kubernetes deploy/container
        DESTINATION "${CMAKE_INSTALL_DATADIR}/bench-dist/deploy"
        PATTERN "token" EXCLUDE
        PATTERN ".gitignore" EXCLUDE
        PATTERN "*.sh" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ
                                   WORLD_EXECUTE)
# systemd's units for the package: <prefix>/lib/systemd/system is
# /usr/lib/systemd/system there, where Debian's systemd looks. The bundle
# drops this folder (package.sh): it carries them under share/ instead.
install(FILES deploy/systemd/bench-dist-coordinator.service deploy/systemd/bench-dist-generator@.service
        DESTINATION lib/systemd/system)

# The Debian package. Dependencies come from dpkg-shlibdeps (Debian's
# dpkg-dev) over the installed executables, so they name exactly the
# libraries the build linked against.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME bench-dist)
set(CPACK_PACKAGE_VENDOR "The bench-dist authors")
set(CPACK_PACKAGE_CONTACT "bench-dist maintainers <bench-dist@users.noreply.github.com>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "distributed load generator for SpacetimeDB")
# CPack indents every line itself.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "bench-dist measures a SpacetimeDB server under load from many machines at
once: a coordinator runs measured epochs, generators on each load machine
drive the keynote transfer module over SpacetimeDB's WebSocket protocol,
and bench-dist-control starts, watches and reports them. stdb-standin is
a stand-in server for trying it without SpacetimeDB.")
include(CPack)
