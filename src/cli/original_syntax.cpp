#include "benchdist/cli/original_syntax.hpp"

#include <CLI/CLI.hpp>

#include "benchdist/text/printable.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace benchdist::cli {

namespace {

constexpr std::array<std::string_view, 4> kTrue{"1", "true", "yes", "on"};
constexpr std::array<std::string_view, 4> kFalse{"0", "false", "no", "off"};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool is_one_of(std::string_view text, const std::array<std::string_view, 4>& words) {
    return std::any_of(words.begin(), words.end(),
                       [text](std::string_view w) { return equals_ignoring_case(text, w); });
}

}  // namespace

std::optional<bool> parse_bool_value(std::string_view text) {
    if (is_one_of(text, kTrue)) return true;
    if (is_one_of(text, kFalse)) return false;
    return std::nullopt;
}

CLI::Option* add_bool_flag(CLI::App& app, const std::string& name, bool& value, const std::string& help) {
    return app
        .add_option_function<std::string>(
            name,
            [&value, name](const std::string& given) {
                // CLI11 hands a flag given alone its (empty) default string.
                if (given.empty()) {
                    value = true;
                    return;
                }
                const auto parsed = parse_bool_value(given);
                if (!parsed) {
                    throw CLI::ValidationError(
                        name, "expected no value or one of 1, true, yes, on, 0, false, no, off, got `" +
                                  text::printable(given) + "`");
                }
                value = *parsed;
            },
            help + " [alone: on; or with a value 1, true, yes, on, 0, false, no or off]")
        // An optional value: CLI11 then takes the next argument only when it
        // is neither an option nor a subcommand (App::_parse_arg).
        ->expected(0, 1)
        ->option_text("[BOOL]")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

int skip_bare_double_dashes(int argc, char** argv) {
    if (argc <= 0) return argc;
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) != "--") argv[kept++] = argv[i];
    }
    argv[kept] = nullptr;
    return kept;
}

}  // namespace benchdist::cli
