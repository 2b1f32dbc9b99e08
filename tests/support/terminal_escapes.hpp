// A check for text bench-dist-control wrote to a terminal: once the escape
// sequences it writes itself are taken out (cursor up, clear line, clear
// below, SGR colours -- and, from a pseudo-terminal, carriage returns),
// only printable ASCII and newlines may be left. Anything else came from a
// peer unescaped.
#pragma once

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace benchdist::testing {

// `out` without those sequences.
inline std::string strip_our_escapes(const std::string& out, bool carriage_returns = false) {
    static const std::regex ours("\x1b\\[(\\d+A|K|J|\\d+m)");
    static const std::regex ours_and_cr("\x1b\\[(\\d+A|K|J|\\d+m)|\r");
    return std::regex_replace(out, carriage_returns ? ours_and_cr : ours, "");
}

inline ::testing::AssertionResult only_our_escapes(const std::string& out, bool carriage_returns = false) {
    const auto rest = strip_our_escapes(out, carriage_returns);
    for (std::size_t i = 0; i < rest.size(); ++i) {
        const auto c = static_cast<unsigned char>(rest[i]);
        if (c != '\n' && (c < 0x20 || c > 0x7e))
            return ::testing::AssertionFailure()
                   << "byte 0x" << std::hex << int(c) << " at " << std::dec << i << " in:\n"
                   << rest;
    }
    return ::testing::AssertionSuccess();
}

}  // namespace benchdist::testing
