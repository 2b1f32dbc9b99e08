# Language level and build defaults shared by every target.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()
# Executables land in one folder so scripts and integration tests find them
# without knowing the source layout.
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/bin")

# The tool version (benchdist::control::tool_version()): the project VERSION,
# plus the commit when configured inside a git checkout, so a result can be
# traced to its code. Computed at configure time only, never per build; the
# exclude pattern makes describe print the bare commit even when tags exist,
# and GIT_OPTIONAL_LOCKS=0 keeps --dirty from taking the index lock.
set(BENCHDIST_TOOL_VERSION "${PROJECT_VERSION}")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -E env GIT_OPTIONAL_LOCKS=0
            "${GIT_EXECUTABLE}" describe --always --dirty --exclude=*
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    OUTPUT_VARIABLE benchdist_git_describe
    OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_QUIET
    RESULT_VARIABLE benchdist_git_result)
  if(benchdist_git_result EQUAL 0 AND benchdist_git_describe MATCHES "^[0-9a-f]+(-dirty)?$")
    set(BENCHDIST_TOOL_VERSION "${PROJECT_VERSION}+g${benchdist_git_describe}")
  endif()
endif()
