#include "benchdist/control/version.hpp"

// Set on this file only by the top-level CMakeLists.txt; the fallback keeps
// a build that bypasses CMake compiling.
#ifndef BENCHDIST_TOOL_VERSION
#define BENCHDIST_TOOL_VERSION "0.0.0-unknown"
#endif

namespace benchdist::control {

std::string_view tool_version() { return BENCHDIST_TOOL_VERSION; }

}  // namespace benchdist::control
