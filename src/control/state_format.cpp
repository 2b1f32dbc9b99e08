#include "benchdist/control/state_format.hpp"

#include <cstdio>

#include "benchdist/control/verdict.hpp"

#include "benchdist/text/printable.hpp"

// Every string printed here came from a coordinator -- ours, or the
// original harness's, which checks nothing -- and may hold what a generator
// or an operator put in it: each one goes through text::printable, so a
// newline cannot forge a line and an escape sequence cannot reach the
// terminal.
namespace benchdist::control {

namespace {
using text::printable;
std::string or_dash(const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : "-"; }
std::string or_dash(const std::optional<std::string>& v) { return v ? printable(*v) : "-"; }
// `s` left-aligned in a column of `width` (printf's %-Ns).
std::string padded(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}
}  // namespace

std::string format_result_line(const EpochResult& r) {
    char tps[64];
    std::snprintf(tps, sizeof tps, "%.2f", r.tps);
    std::string line = "epoch=" + std::to_string(r.epoch) + " tps=" + tps + " delta=" + printable(r.committed_delta) +
                       " verification=" + printable(r.verification);
    if (r.verification_error) line += " verification_error=" + printable(*r.verification_error);
    if (r.error) line += " error=" + printable(*r.error);
    return line;
}

namespace {

std::string ms_from_us(const Json& v) {
    if (!v.is_number()) return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", v.get<double>() / 1000.0);
    return buf;
}

std::string count_of(const Json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number()) return "-";
    if (it->is_number_unsigned()) return std::to_string(it->get<std::uint64_t>());
    if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", it->get<double>());
    return buf;
}

const Json& at_or_null(const Json& object, const char* key) {
    static const Json null_json;
    if (!object.is_object()) return null_json;
    const auto it = object.find(key);
    return it == object.end() ? null_json : *it;
}

// "<title> (ms[, <kind>]):\n" then the row of a latency object.
std::string latency_heading(const char* title, const Json& latency) {
    const auto& kind = at_or_null(latency, "kind");
    return std::string(title) + " (ms" +
           (kind.is_string() ? ", " + printable(kind.get<std::string>()) : std::string()) + "):\n";
}

std::string latency_row(const Json& latency) {
    char line[512];
    std::snprintf(line, sizeof line, "  %10s %10s %10s %10s %10s %10s %10s\n", count_of(latency, "count").c_str(),
                  ms_from_us(at_or_null(latency, "mean")).c_str(), ms_from_us(at_or_null(latency, "p50")).c_str(),
                  ms_from_us(at_or_null(latency, "p90")).c_str(), ms_from_us(at_or_null(latency, "p99")).c_str(),
                  ms_from_us(at_or_null(latency, "p999")).c_str(), ms_from_us(at_or_null(latency, "max")).c_str());
    return line;
}

std::string per_second(const Json& v) {
    if (!v.is_number()) return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f/s", v.get<double>());
    return buf;
}

// "schedule: target 1000.00/s achieved 990.00/s (99.0%) send lag p50 ...
// ms p99 ... ms max ... ms, kept"
std::string schedule_line(const Json& schedule) {
    const auto& target = at_or_null(schedule, "targetPerSecond");
    const auto& achieved = at_or_null(schedule, "achievedPerSecond");
    std::string out = "schedule: target " + per_second(target) + " achieved " + per_second(achieved);
    if (target.is_number() && achieved.is_number() && target.get<double>() > 0) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " (%.1f%%)", achieved.get<double>() / target.get<double>() * 100.0);
        out += buf;
    }
    const auto& lag = at_or_null(schedule, "sendLagUs");
    out += " send lag p50 " + ms_from_us(at_or_null(lag, "p50")) + " ms p99 " + ms_from_us(at_or_null(lag, "p99")) +
           " ms max " + ms_from_us(at_or_null(lag, "max")) + " ms";
    const auto& kept = at_or_null(schedule, "kept");
    if (kept.is_boolean()) out += kept.get<bool>() ? ", kept" : ", NOT kept";
    return out + "\n";
}

// "little's law: 7.90 of 8 in-flight slots busy (utilization 98.8%)"
std::string littles_law_line(const Json& law) {
    const auto& busy = at_or_null(law, "busy");
    const auto& utilization = at_or_null(law, "utilization");
    char buf[64];
    std::string out = "little's law: ";
    if (busy.is_number()) {
        std::snprintf(buf, sizeof buf, "%.2f", busy.get<double>());
        out += buf;
    } else {
        out += "-";
    }
    out += " of " + count_of(law, "inflightCapacity") + " in-flight slots busy";
    if (utilization.is_number()) {
        std::snprintf(buf, sizeof buf, " (utilization %.1f%%)", utilization.get<double>() * 100.0);
        out += buf;
    }
    return out + "\n";
}

}  // namespace

std::string format_result_details(const EpochResult& r) {
    std::string out;
    char line[512];
    const auto& latency = at_or_null(r.extra, "latency");
    if (latency.is_object()) {
        out += latency_heading("latency", latency);
        std::snprintf(line, sizeof line, "  %10s %10s %10s %10s %10s %10s %10s\n", "count", "mean", "p50", "p90", "p99",
                      "p99.9", "max");
        out += line;
        out += latency_row(latency);
    }
    // Open loop: the same operations from their actual send, so a reader
    // sees how much of the corrected figure was the generator's own delay.
    const auto& uncorrected = at_or_null(r.extra, "latencyUncorrected");
    if (uncorrected.is_object()) out += latency_heading("latency uncorrected", uncorrected) + latency_row(uncorrected);
    const auto& schedule = at_or_null(r.extra, "schedule");
    if (schedule.is_object()) out += schedule_line(schedule);
    const auto& errors = at_or_null(r.extra, "errors");
    if (errors.is_object()) {
        const auto& module = at_or_null(errors, "moduleErrors");
        std::uint64_t module_total = 0;
        if (module.is_object())
            for (const auto& [message, n] : module.items())
                if (n.is_number_integer() && n.get<std::int64_t>() > 0) module_total += n.get<std::uint64_t>();
        out += "errors: module=" + std::to_string(module_total) + " internal=" + count_of(errors, "internalErrors") +
               " timeouts=" + count_of(errors, "timeouts") + " disconnects=" + count_of(errors, "disconnects") + "\n";
        if (module.is_object())
            for (const auto& [message, n] : module.items())
                out += "  module error \"" + printable(message) + "\": " + printable(n.dump()) + "\n";
    }
    const auto& ratio = at_or_null(r.extra, "clientServerRatio");
    if (ratio.is_number()) {
        std::snprintf(line, sizeof line, "client/server committed ratio: %.4f (client %s, server %s)\n",
                      ratio.get<double>(), count_of(r.extra, "clientCommitted").c_str(),
                      printable(r.committed_delta).c_str());
        out += line;
    }
    const auto& law = at_or_null(r.extra, "littlesLaw");
    if (law.is_object()) out += littles_law_line(law);
    const auto& warnings = at_or_null(r.extra, "warnings");
    if (warnings.is_array() && !warnings.empty()) {
        out += "warnings:\n";
        for (const auto& w : warnings)
            out += "  - " + printable(w.is_string() ? w.get<std::string>() : w.dump()) + "\n";
    }
    return out;
}

std::string load_assignment_text(const LoadAssignment& a) {
    std::string out;
    const auto field = [&out](const char* name, const std::string& value) {
        if (!out.empty()) out += ',';
        out += name;
        out += '=';
        out += value;
    };
    char number[32];
    if (a.connections) field("connections", std::to_string(*a.connections));
    if (a.inflight) field("inflight", std::to_string(*a.inflight));
    if (a.rate) {
        std::snprintf(number, sizeof number, "%g/s", *a.rate);
        field("rate", *a.rate > 0 ? number : "closed");
    }
    if (a.alpha) {
        std::snprintf(number, sizeof number, "%g", *a.alpha);
        field("alpha", number);
    }
    if (a.accounts) field("accounts", std::to_string(*a.accounts));
    return out.empty() ? "-" : out;
}

std::string format_state(const CoordinatorState& s) {
    std::string out;
    out += "phase=" + std::string(phase_name(s.phase)) + " epoch=" + or_dash(s.current_epoch) +
           " label=" + or_dash(s.current_label) + "\n";
    out += "test=" + printable(s.test) + " connector=" + printable(s.connector) +
           " participants=" + std::to_string(s.participants.size()) + "\n";
    if (s.generators.empty()) {
        out += "generators: none\n";
    } else {
        out += "generators:\n";
        for (const auto& g : s.generators) {
            out += "  " + printable(g.id) + " host=" + printable(g.hostname) +
                   " state=" + std::string(generator_state_name(g.local_state)) +
                   " opened=" + std::to_string(g.opened_connections) + "/" + std::to_string(g.desired_connections) +
                   " active_epoch=" + or_dash(g.active_epoch);
            // Its share of the running epoch's load, when the epoch sets one.
            if (const auto it = s.current_load.find(g.id); it != s.current_load.end())
                out += " load=" + load_assignment_text(it->second);
            out += "\n";
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
        // Built with += rather than into a fixed buffer: a long id widens its
        // line instead of cutting it (and an escaped NUL no longer ends it).
        out += padded(printable(g.id), 24) + " " + padded(printable(g.hostname), 20) + " " +
               padded(std::string(generator_state_name(g.local_state)), 10) + " " + padded(conns, 15) + " " +
               padded(or_dash(g.active_epoch), 8) + " " + padded(g.included ? "included" : "excluded", 12) + " " +
               (g.last_seen_at.empty() ? "-" : printable(g.last_seen_at)) + "\n";
    }
    return out;
}

std::string format_verdict(const EpochResult& result) {
    const auto verdict = read_verdict(result.extra);
    if (!verdict) return {};
    std::string out = verdict->valid ? "verdict: valid\n" : "verdict: INVALID\n";
    for (const auto& r : verdict->reasons) out += "  - [" + printable(r.code) + "] " + printable(r.message) + "\n";
    for (const auto& r : verdict->tolerated)
        out += "  - tolerated [" + printable(r.code) + "] " + printable(r.message) + "\n";
    return out;
}

}  // namespace benchdist::control
