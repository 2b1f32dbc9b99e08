#include "benchdist/control/state_format.hpp"

#include <cstdio>

namespace benchdist::control {

namespace {
std::string or_dash(const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : "-"; }
std::string or_dash(const std::optional<std::string>& v) { return v ? *v : "-"; }
}  // namespace

std::string format_result_line(const EpochResult& r) {
    char tps[64];
    std::snprintf(tps, sizeof tps, "%.2f", r.tps);
    std::string line = "epoch=" + std::to_string(r.epoch) + " tps=" + tps + " delta=" + r.committed_delta +
                       " verification=" + r.verification;
    if (r.verification_error) line += " verification_error=" + *r.verification_error;
    if (r.error) line += " error=" + *r.error;
    return line;
}

std::string format_state(const CoordinatorState& s) {
    std::string out;
    out += "phase=" + std::string(phase_name(s.phase)) + " epoch=" + or_dash(s.current_epoch) +
           " label=" + or_dash(s.current_label) + "\n";
    out += "test=" + s.test + " connector=" + s.connector + " participants=" + std::to_string(s.participants.size()) + "\n";
    if (s.generators.empty()) {
        out += "generators: none\n";
    } else {
        out += "generators:\n";
        for (const auto& g : s.generators) {
            out += "  " + g.id + " host=" + g.hostname + " state=" + std::string(generator_state_name(g.local_state)) +
                   " opened=" + std::to_string(g.opened_connections) + "/" + std::to_string(g.desired_connections) +
                   " active_epoch=" + or_dash(g.active_epoch) + "\n";
        }
    }
    if (s.last_result) out += "last_result:\n  " + format_result_line(*s.last_result) + "\n";
    return out;
}

std::string format_generators(const CoordinatorState& s) {
    if (s.generators.empty()) return "no generators registered\n";
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "%-24s %-20s %-10s %-15s %-8s %-12s %s\n", "ID", "HOST", "STATE", "CONNECTIONS",
                  "EPOCH", "NEXT-EPOCHS", "LAST-CONTACT");
    out += line;
    for (const auto& g : s.generators) {
        const std::string conns = std::to_string(g.opened_connections) + "/" + std::to_string(g.desired_connections);
        std::snprintf(line, sizeof line, "%-24s %-20s %-10s %-15s %-8s %-12s %s\n", g.id.c_str(), g.hostname.c_str(),
                      std::string(generator_state_name(g.local_state)).c_str(), conns.c_str(),
                      or_dash(g.active_epoch).c_str(), g.included ? "included" : "excluded",
                      g.last_seen_at.empty() ? "-" : g.last_seen_at.c_str());
        out += line;
    }
    return out;
}

}  // namespace benchdist::control
