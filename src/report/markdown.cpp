#include "benchdist/report/curves.hpp"
#include "benchdist/report/render.hpp"
#include "report/format.hpp"
#include "report/sections.hpp"

namespace benchdist::report {

using detail::grouped;
using detail::markdown_text;
using detail::ms_text;

namespace {

std::string row(const std::vector<std::string>& cells) {
    std::string out = "|";
    for (const auto& c : cells) out += " " + c + " |";
    return out + "\n";
}

std::string epoch_table(const Report& report) {
    const auto spread = manifest_spread(report.epochs);
    std::vector<std::string> header{"epoch",  "label",    "verdict", "TPS",    "p50 ms",
                                    "p99 ms", "p99.9 ms", "max ms",  "errors", "client/server"};
    std::string align = "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|";
    for (const auto& s : spread) {
        header.push_back(markdown_text(detail::manifest_title(s.key)));
        align += "---|";
    }
    std::string out = row(header) + align + "\n";
    for (const auto& e : report.epochs) {
        const bool m = e.record.measured;
        std::string verdict = e.record.verdict == "valid" ? "valid" : "**" + markdown_text(e.record.verdict) + "**";
        if (!e.record.reasons.empty()) verdict += " (" + markdown_text(detail::reason_codes(e.record)) + ")";
        const auto lat = [&](std::optional<double> Latency::*f) {
            return m && e.latency ? ms_text((*e.latency).*f) : std::string(m ? "-" : "invalid");
        };
        std::vector<std::string> cells{
            std::to_string(e.epoch),
            markdown_text(e.label.value_or("")),
            verdict,
            m ? grouped(e.tps) : "invalid",
            lat(&Latency::p50),
            lat(&Latency::p99),
            lat(&Latency::p999),
            lat(&Latency::max),
            e.errors ? grouped(e.errors->total) : "-",
            m ? detail::fixed(e.client_server_ratio, 4) : "invalid",
        };
        for (const auto& s : spread) {
            const auto it = e.manifest.find(s.key);
            cells.push_back(markdown_text(manifest_text(s.key, it == e.manifest.end() ? nullptr : &*it)));
        }
        out += row(cells);
    }
    return out;
}

std::string shared_manifest(const Report& report) {
    if (report.epochs.empty()) return {};
    const auto spread = manifest_spread(report.epochs);
    std::string line;
    for (const auto& k : manifest_keys()) {
        bool differs = false;
        for (const auto& s : spread) differs = differs || s.key == k.key;
        if (differs) continue;
        const auto& m = report.epochs.front().manifest;
        const auto it = m.find(k.key);
        line += (line.empty() ? "" : ", ") + std::string(k.title) + " " +
                markdown_text(manifest_text(k.key, it == m.end() ? nullptr : &*it));
    }
    if (line.empty()) return {};
    return "\n" + std::string(report.epochs.size() > 1 ? "Every epoch ran with: " : "Ran with: ") + line + ".\n";
}

std::string campaign_section(const CampaignReport& c) {
    const auto& camp = c.campaign;
    std::string out = "\n## Campaign " + markdown_text(camp.id) + " (" + std::string(campaign::kind_name(camp.kind)) +
                      ", " + std::string(campaign::status_name(camp.status)) + ")\n\n";
    out += markdown_text(detail::campaign_summary(camp)) + "\n\n";
    out += row({"point", "status", "TPS median", "TPS min .. max", "n", "p50 ms", "p99 ms", "SLOs", "invalid epochs"});
    out += "|---|---|---:|---|---:|---:|---:|---|---:|\n";
    for (const auto& p : c.points) {
        const bool has = p.contains("tps");
        const auto number = [&](const char* obj, const char* key) -> std::optional<double> {
            if (!p.contains(obj) || !p[obj].contains(key) || !p[obj][key].is_number()) return std::nullopt;
            return p[obj][key].get<double>();
        };
        std::string status = p.value("status", std::string());
        if (status == "invalid") status = "**invalid**";
        out += row({markdown_text(detail::point_name(camp, p)), status,
                    has ? grouped(*number("tps", "median")) : "invalid",
                    has ? grouped(*number("tps", "min")) + " .. " + grouped(*number("tps", "max")) : "-",
                    has ? std::to_string(p["tps"].value("n", 0)) : "0", has ? ms_text(number("latency", "p50Us")) : "-",
                    has ? ms_text(number("latency", "p99Us")) : "-",
                    !has ? "-" : (p.value("sloOk", true) ? "met" : "**broken**"),
                    std::to_string(p.value("invalidEpochs", 0))});
    }
    for (const auto& p : c.points)
        if (p.value("status", std::string()) == "invalid")
            out += "\n- " + markdown_text(detail::point_name(camp, p)) +
                   " is invalid: " + markdown_text(detail::point_reasons(p));
    if (const auto line = detail::campaign_outcome(camp); !line.empty()) out += "\n" + markdown_text(line) + "\n";
    return out;
}

}  // namespace

std::string render_markdown(const Report& report) {
    std::string out = "# bench-dist report\n\n" + markdown_text(detail::report_summary(report)) + "\n";
    if (!report.epochs.empty()) {
        out += "\n## Epochs\n\n" + epoch_table(report) + shared_manifest(report);
        std::string invalid;
        for (const auto& e : report.epochs)
            for (const auto& r : e.record.reasons)
                invalid += "- epoch " + std::to_string(e.epoch) + ", " + markdown_text(r.code) + ": " +
                           markdown_text(r.message) + "\n";
        if (!invalid.empty()) out += "\nReasons:\n\n" + invalid;
    }
    for (const auto& c : report.campaigns) out += campaign_section(c);
    if (!report.notes.empty()) {
        out += "\nNotes:\n\n";
        for (const auto& n : report.notes) out += "- " + markdown_text(n) + "\n";
    }
    return out;
}

}  // namespace benchdist::report
