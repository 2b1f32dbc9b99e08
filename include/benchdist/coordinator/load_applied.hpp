// Whether an epoch's participants ran the load it assigned them
// (load_split.hpp): what each one's /stopped report says it ran -- its
// "settings" and "load" (control/generator_report.hpp) -- compared field by
// field with its share. A result whose participants ran something else
// describes a load nobody asked for, so any difference, or a report that
// does not say, makes the verdict invalid (load_not_applied). Pure JSON in,
// reasons out, unit-tested in epoch_verdict_test.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "benchdist/control/epoch_load.hpp"
#include "benchdist/control/protocol.hpp"
#include "benchdist/control/verdict.hpp"

namespace benchdist::coordinator {

// What one report says the generator ran; a field it does not state is
// absent. `rate` is 0 for closed loop.
struct RanLoad {
    std::optional<std::uint64_t> connections;  // load.connections, else settings.connections
    std::optional<std::uint64_t> inflight;     // load.maxInflight, else settings.maxInflight
    std::optional<double> rate;                // load.mode/ratePerSecond, else settings.rate
    std::optional<double> alpha;               // settings.alpha
    std::optional<std::uint64_t> accounts;     // settings.accounts
};
// Tolerant, like every reading of a report: a field of the wrong type reads
// as absent.
RanLoad ran_load(const control::Json& report);

// One load_not_applied reason per participant with a share that sent no
// report (or one without "settings" and "load"), and per field of a share
// its report contradicts or does not state, naming the generator, the
// field, what was assigned and what it ran. `reports` is {"<id>": <the
// /stopped extra fields>} (EpochObservations::stop_reports).
std::vector<control::VerdictReason> load_not_applied(const std::map<std::string, control::LoadAssignment>& assignments,
                                                     const control::Json& reports);

}  // namespace benchdist::coordinator
