#include "benchdist/coordinator/generator_limit.hpp"

#include <cstdio>
#include <optional>

namespace benchdist::coordinator {

namespace {

using control::Json;

std::string number(double v, const char* spec) {
    char text[64];
    std::snprintf(text, sizeof text, spec, v);
    return text;
}

std::optional<double> number_at(const Json& j, const char* key) {
    if (!j.is_object()) return std::nullopt;
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
}

bool is_false(const Json& j, const char* key) {
    if (!j.is_object()) return false;
    const auto it = j.find(key);
    return it != j.end() && it->is_boolean() && !it->get<bool>();
}

std::string names(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) out += (out.empty() ? "\"" : ", \"") + id + "\"";
    return out;
}

// Closed loop: the summary computed Little's law; only its verdict is read here.
std::optional<std::string> littles_law(const Json& summary, const GeneratorLimitOptions& options) {
    const auto it = summary.find("littlesLaw");
    if (it == summary.end()) return std::nullopt;
    const auto utilization = number_at(*it, "utilization");
    if (!utilization || *utilization >= options.min_inflight_utilization) return std::nullopt;
    return "closed loop: Little's law utilization " + number(*utilization * 100.0, "%.1f") + "% is below " +
           number(options.min_inflight_utilization * 100.0, "%g") +
           "% -- the in-flight slots waited on the generators, not on the server";
}

// Open loop: late sends with free in-flight slots were the generator's doing.
std::optional<std::string> schedule_not_kept(const Json& summary, const StopReports& reports,
                                             const GeneratorLimitOptions& options) {
    const auto schedule = summary.find("schedule");
    const auto uncorrected = summary.find("latencyUncorrected");
    // Both only when every generator ran open loop (result_summary.cpp).
    if (schedule == summary.end() || uncorrected == summary.end()) return std::nullopt;
    std::vector<std::string> behind;
    if (const auto per = summary.find("perGenerator"); per != summary.end() && per->is_object()) {
        for (const auto& [id, entry] : per->items())
            if (entry.is_object() && entry.contains("schedule") && is_false(entry["schedule"], "kept"))
                behind.push_back(id);
    }
    if (!is_false(*schedule, "kept") && behind.empty()) return std::nullopt;
    const auto achieved = number_at(*schedule, "achievedPerSecond");
    const auto mean_us = number_at(*uncorrected, "mean");
    double capacity = 0;
    for (const auto& [id, report] : reports) {
        if (!report.load || !report.load->open || !report.load->connections) return std::nullopt;
        capacity += static_cast<double>(*report.load->connections) * static_cast<double>(report.load->max_inflight);
    }
    // Without the slots or the service time the server cannot be ruled out.
    if (!achieved || !mean_us || capacity <= 0) return std::nullopt;
    const double busy = *achieved * *mean_us / 1e6;
    const double utilization = busy / capacity;
    if (utilization >= options.min_inflight_utilization) return std::nullopt;  // the server held the slots
    return "open loop: the schedule was not kept" +
           (behind.empty() ? std::string() : " (behind: " + names(behind) + ")") + " while only " +
           number(busy, "%.1f") + " of " + number(capacity, "%.0f") + " in-flight slots waited for the server (" +
           number(utilization * 100.0, "%.1f") + "%, below " + number(options.min_inflight_utilization * 100.0, "%g") +
           "%) -- the generators sent late with slots free";
}

std::optional<std::string> generator_cpu(const StopReports& reports, const GeneratorLimitOptions& options) {
    std::string busy;
    for (const auto& [id, report] : reports) {
        if (!report.resources || report.resources->wall_us == 0 || report.resources->threads == 0) continue;
        const auto& r = *report.resources;
        const double share =
            static_cast<double>(r.cpu_us) / (static_cast<double>(r.wall_us) * static_cast<double>(r.threads));
        if (share < options.max_cpu_share) continue;
        busy += std::string(busy.empty() ? "" : ", ") + "\"" + id + "\" " + number(share * 100.0, "%.0f") + "% of " +
                std::to_string(r.threads) + (r.threads == 1 ? " thread" : " threads");
    }
    if (busy.empty()) return std::nullopt;
    return "generator CPU at least " + number(options.max_cpu_share * 100.0, "%g") +
           "% of its worker threads: " + busy + " -- give it more --threads or add machines";
}

}  // namespace

GeneratorLimit find_generator_limit(const Json& summary, const StopReports& reports,
                                    const GeneratorLimitOptions& options) {
    GeneratorLimit limit;
    const std::pair<const char*, std::optional<std::string>> checks[] = {
        {"littles_law", littles_law(summary, options)},
        {"schedule_not_kept", schedule_not_kept(summary, reports, options)},
        {"generator_cpu", generator_cpu(reports, options)},
    };
    for (const auto& [code, sentence] : checks) {
        if (!sentence) continue;
        limit.why.push_back(code);
        limit.message += (limit.message.empty() ? "" : "; ") + *sentence;
    }
    limit.limited = !limit.why.empty();
    if (limit.limited) {
        limit.message = "the generators, not the server, limited the throughput: " + limit.message +
                        " (this throughput is not the server's capacity)";
    } else {
        limit.message =
            "no sign that the generators limited the throughput (Little's law, open-loop schedule, generator CPU)";
    }
    return limit;
}

Json to_json(const GeneratorLimit& limit) {
    return Json{{"limited", limit.limited}, {"why", limit.why}, {"message", limit.message}};
}

}  // namespace benchdist::coordinator
