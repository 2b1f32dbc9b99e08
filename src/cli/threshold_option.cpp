#include "benchdist/cli/threshold_option.hpp"

#include "benchdist/control/verdict.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace benchdist::cli {

CLI::Option* add_threshold_option(CLI::App& app, std::vector<stats::Threshold>& thresholds, const std::string& flag) {
    return app
        .add_option_function<std::vector<std::string>>(
            flag,
            [&thresholds, flag](const std::vector<std::string>& texts) {
                // Parsed into a local first, so a bad expression leaves
                // `thresholds` as it was.
                std::vector<stats::Threshold> parsed;
                parsed.reserve(texts.size());
                for (const auto& text : texts) {
                    try {
                        parsed.push_back(stats::parse_threshold(text));
                    } catch (const stats::ThresholdSyntaxError& e) {
                        throw CLI::ValidationError(flag, e.what());
                    }
                }
                thresholds = std::move(parsed);
            },
            "A condition on the result, e.g. 'p99<=20ms', 'tps>=100000', 'errors==0', 'clientServerRatio>=99%'; "
            "repeat for several. A threshold that fails, or whose metric the result lacks, makes the verdict "
            "invalid. Metrics: tps, p50, p90, p99, p999, max, mean (us, ms or s; bare = ms), errors, errorRatio, "
            "clientServerRatio (fraction or %), committed, attempted; see docs/results.md")
        // One expression per --threshold: a following argument is never
        // taken as a second expression (it may be a subcommand or a typo).
        ->allow_extra_args(false)
        ->type_name("EXPR");
}

CLI::Option* add_tolerate_option(CLI::App& app, std::vector<std::string>& codes, const std::string& what) {
    return app
        .add_option("--tolerate", codes,
                    "A reason code to record as a warning instead of making " + what +
                        " invalid (repeatable; docs/results.md lists them), e.g. --tolerate connections_short")
        ->check([](const std::string& code) {
            return control::is_known_reason_code(code)
                       ? std::string()
                       : "unknown reason code \"" + code + "\" (docs/results.md lists them)";
        });
}

}  // namespace benchdist::cli
