// The verdict's options: the --threshold (and --tolerate) that bench-dist-coordinator, `bench-dist-control
// start-epoch` and `bench-dist-generator run` share: a repeatable
// `--threshold EXPR` (e.g. `--threshold 'p99<=20ms' --threshold errors==0`)
// whose expressions are parsed while CLI11 parses, so a bad one is a usage
// error (exit 2) before anything starts, with the message of
// stats::ThresholdSyntaxError. The grammar and the evaluation are
// stats/threshold.hpp's. As in option_groups.hpp, CLI11 is only
// forward-declared here.
#pragma once

#include <string>
#include <vector>

#include "benchdist/stats/threshold.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace benchdist::cli {

// Adds `--threshold EXPR` to `app`, writing into `thresholds`, which must
// outlive parsing. Each occurrence takes one expression; given at all, the
// option replaces what `thresholds` held with every expression in command-
// line order, and absent it leaves `thresholds` alone. An expression that
// does not parse fails parsing with a CLI::ValidationError naming
// --threshold and carrying the ThresholdSyntaxError's message. `flag`
// gives the option another name with the same grammar (saturate's --slo).
CLI::Option* add_threshold_option(CLI::App& app, std::vector<stats::Threshold>& thresholds,
                                  const std::string& flag = "--threshold");

// Adds the repeatable `--tolerate CODE` the same three commands share: a
// reason code (control/verdict.hpp) that is to be a warning rather than make
// `what` ("this epoch", "the run", ...) invalid. An unknown code is a usage
// error naming it.
CLI::Option* add_tolerate_option(CLI::App& app, std::vector<std::string>& codes, const std::string& what);

}  // namespace benchdist::cli
