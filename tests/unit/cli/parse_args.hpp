// Parsing a tool's command line in a unit test: the arguments after the
// tool's name, as CLI11 sees them from main().
#pragma once

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace benchdist::testing {

inline void parse_args(CLI::App& app, const std::vector<std::string>& args) {
    std::vector<std::string> storage{"tool"};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<const char*> argv;
    for (const auto& a : storage) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
}

// The message of the usage error parsing `args` gives; the tools turn every
// CLI::ParseError into exit code 2.
inline std::string usage_error(CLI::App& app, const std::vector<std::string>& args) {
    try {
        parse_args(app, args);
    } catch (const CLI::ParseError& e) {
        EXPECT_NE(e.get_exit_code(), 0) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "parsing succeeded";
    return {};
}

}  // namespace benchdist::testing
