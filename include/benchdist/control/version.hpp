// The version every bench-dist executable reports (`--version`) and every
// epoch result records in its manifest, so a number can always be traced to
// the code that produced it. It comes from one place: the project's VERSION
// in CMake, plus the git commit (`git describe --always --dirty`) when the
// build was configured inside a checkout. It is compiled into a single
// source file, so a new version recompiles that file only.
#pragma once

#include <string_view>

namespace benchdist::control {

// "0.1.0+g1a2b3c4" (or "0.1.0+g1a2b3c4-dirty"; just "0.1.0" outside git).
std::string_view tool_version();

}  // namespace benchdist::control
