# Every dependency comes from a Debian package (scripts/setup.sh installs them)
# and is found here; nothing is vendored or downloaded at configure time.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS url)
find_package(nlohmann_json 3.10 REQUIRED CONFIG)
find_package(CLI11 2.1 REQUIRED CONFIG)
find_package(spdlog 1.10 REQUIRED CONFIG)
find_package(ZLIB REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(PkgConfig REQUIRED)
# Debian's brotli ships pkg-config files only, no CMake package.
pkg_check_modules(BROTLI REQUIRED IMPORTED_TARGET libbrotlienc libbrotlidec)
# The generator's io_uring backend (issue 18): Debian's liburing-dev; the
# kernel support is probed at run time, so the library is always linked.
pkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET liburing)
if(BENCHDIST_BUILD_TESTS)
  find_package(GTest REQUIRED CONFIG)
endif()
if(BENCHDIST_BUILD_BENCH)
  find_package(benchmark REQUIRED CONFIG)
endif()
