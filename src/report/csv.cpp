#include <functional>

#include "benchdist/report/render.hpp"
#include "report/format.hpp"

namespace benchdist::report {

using detail::csv_number;
using detail::csv_text;

namespace {

std::string reason_codes(const EpochReport& e) {
    std::string out;
    for (const auto& r : e.record.reasons) out += (out.empty() ? "" : " ") + r.code;
    return out;
}

std::string reason_messages(const EpochReport& e) {
    std::string out;
    for (const auto& r : e.record.reasons) out += (out.empty() ? "" : "; ") + r.code + ": " + r.message;
    return out;
}

// A figure of the epoch, or an empty cell when it is not a measurement.
std::string figure(const EpochReport& e, std::optional<double> v) {
    return e.record.measured ? csv_number(v) : std::string();
}

std::optional<double> latency_of(const EpochReport& e, std::optional<double> Latency::*field) {
    return e.latency ? (*e.latency).*field : std::nullopt;
}

// A manifest cell: empty when unknown or null (a closed loop's rate), but
// "server default" for a null confirmedReads, which is a setting.
std::string manifest_cell(const EpochReport& e, std::string_view key) {
    const auto it = e.manifest.find(key);
    if (it == e.manifest.end()) return {};
    if (it->is_null()) return key == "confirmedReads" ? "server default" : std::string();
    if (it->is_number()) return csv_number(it->get<double>());
    return csv_text(manifest_text(key, &*it));
}

std::string snake_case(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c >= 'A' && c <= 'Z') {
            out.push_back('_');
            out.push_back(static_cast<char>(c - 'A' + 'a'));
        } else {
            out.push_back(c);
        }
    }
    return out;
}

struct Column {
    std::string name;
    std::function<std::string(const EpochReport&)> cell;
};

const std::vector<Column>& columns() {
    static const std::vector<Column> all = [] {
        std::vector<Column> c{
            {"epoch", [](const EpochReport& e) { return std::to_string(e.epoch); }},
            {"label", [](const EpochReport& e) { return csv_text(e.label.value_or("")); }},
            {"verdict", [](const EpochReport& e) { return csv_text(e.record.verdict); }},
            {"measured", [](const EpochReport& e) { return std::string(e.record.measured ? "true" : "false"); }},
            {"reason_codes", [](const EpochReport& e) { return csv_text(reason_codes(e)); }},
            {"reasons", [](const EpochReport& e) { return csv_text(reason_messages(e)); }},
            {"tps", [](const EpochReport& e) { return figure(e, e.tps); }},
            {"committed",
             [](const EpochReport& e) { return e.record.measured ? csv_text(e.committed_delta) : std::string(); }},
            {"actual_window_seconds", [](const EpochReport& e) { return csv_number(e.actual_window_seconds); }},
            {"measured_at", [](const EpochReport& e) { return csv_text(e.measured_at); }},
            {"finished_at", [](const EpochReport& e) { return csv_text(e.finished_at); }},
            {"latency_kind", [](const EpochReport& e) { return csv_text(e.latency ? e.latency->kind : ""); }},
            {"latency_count", [](const EpochReport& e) { return figure(e, latency_of(e, &Latency::count)); }},
            {"mean_us", [](const EpochReport& e) { return figure(e, latency_of(e, &Latency::mean)); }},
            {"p50_us", [](const EpochReport& e) { return figure(e, latency_of(e, &Latency::p50)); }},
            {"p90_us", [](const EpochReport& e) { return figure(e, latency_of(e, &Latency::p90)); }},
            {"p99_us", [](const EpochReport& e) { return figure(e, latency_of(e, &Latency::p99)); }},
            {"p999_us", [](const EpochReport& e) { return figure(e, latency_of(e, &Latency::p999)); }},
            {"max_us", [](const EpochReport& e) { return figure(e, latency_of(e, &Latency::max)); }},
            {"errors",
             [](const EpochReport& e) { return csv_number(e.errors ? std::optional(e.errors->total) : std::nullopt); }},
            {"timeouts",
             [](const EpochReport& e) {
                 return csv_number(e.errors ? std::optional(e.errors->timeouts) : std::nullopt);
             }},
            {"disconnects",
             [](const EpochReport& e) {
                 return csv_number(e.errors ? std::optional(e.errors->disconnects) : std::nullopt);
             }},
            {"internal_errors",
             [](const EpochReport& e) {
                 return csv_number(e.errors ? std::optional(e.errors->internal) : std::nullopt);
             }},
            {"module_errors",
             [](const EpochReport& e) {
                 return csv_number(e.errors ? std::optional(e.errors->module) : std::nullopt);
             }},
            {"client_server_ratio", [](const EpochReport& e) { return figure(e, e.client_server_ratio); }},
            {"verification", [](const EpochReport& e) { return csv_text(e.verification); }},
            {"error", [](const EpochReport& e) { return csv_text(e.error.value_or("")); }},
        };
        for (const auto& k : manifest_keys()) {
            const std::string_view key = k.key;
            c.push_back({snake_case(key), [key](const EpochReport& e) { return manifest_cell(e, key); }});
        }
        c.push_back({"campaign", [](const EpochReport& e) { return csv_text(e.campaign_id); }});
        c.push_back({"point", [](const EpochReport& e) { return csv_text(e.point); }});
        c.push_back({"file", [](const EpochReport& e) { return csv_text(e.source); }});
        return c;
    }();
    return all;
}

}  // namespace

const std::vector<std::string_view>& csv_columns() {
    static const std::vector<std::string_view> names = [] {
        std::vector<std::string_view> n;
        for (const auto& c : columns()) n.push_back(c.name);
        return n;
    }();
    return names;
}

std::string render_csv(const Report& report) {
    std::string out;
    for (const auto& c : columns()) out += (&c == &columns().front() ? "" : ",") + c.name;
    out += "\r\n";
    for (const auto& e : report.epochs) {
        for (const auto& c : columns()) out += (&c == &columns().front() ? "" : ",") + c.cell(e);
        out += "\r\n";
    }
    return out;
}

}  // namespace benchdist::report
