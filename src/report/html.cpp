// The HTML report: one file with everything in it. Tables are written here,
// escaped; charts are described here (report/curves for a campaign's) and
// drawn by the page's script (report.js) from a JSON data block; Chart.js,
// the script and the styles are inlined, and the page's
// Content-Security-Policy allows exactly those three by their SHA-256, so
// nothing else -- an injected script, a remote resource -- can run or load.
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>

#include "benchdist/report/curves.hpp"
#include "benchdist/report/render.hpp"
#include "benchdist/webassets/chart_js.hpp"
#include "report/format.hpp"
#include "report/sections.hpp"

namespace benchdist::webassets::embedded {
extern const std::string_view report_page_js;   // src/report/report.js
extern const std::string_view report_page_css;  // src/report/report.css
}  // namespace benchdist::webassets::embedded

namespace benchdist::report {

using detail::grouped;
using detail::html_escape;
using detail::ms_text;

namespace {

namespace embedded = benchdist::webassets::embedded;

// 'sha256-<base64>' of `text`, a CSP source.
std::string csp_hash(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
    unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    const int n = EVP_EncodeBlock(b64, digest, static_cast<int>(length));
    return "'sha256-" + std::string(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n)) + "'";
}

// JSON that can sit inside <script type="application/json">: every <, >
// and & as a \u escape, so no "</script>" or "<!--" can appear in it.
std::string script_safe_json(const Json& j) {
    const auto text = j.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '<')
            out += "\\u003c";
        else if (c == '>')
            out += "\\u003e";
        else if (c == '&')
            out += "\\u0026";
        else
            out.push_back(c);
    }
    return out;
}

Json nullable(std::optional<double> v) { return v ? Json(*v) : Json(nullptr); }
Json ms(std::optional<double> us) { return us ? Json(*us / 1000.0) : Json(nullptr); }

std::string epoch_name(const EpochReport& e) {
    return "epoch " + std::to_string(e.epoch) + (e.label && !e.label->empty() ? " · " + *e.label : "");
}

class Page {
public:
    // A canvas for the chart `spec` (its "canvas" key is set here).
    std::string chart(Json spec, bool small = false) {
        const auto id = "chart-" + std::to_string(charts_.size());
        spec["canvas"] = id;
        charts_.push_back(std::move(spec));
        return std::string("<div class=\"chart") + (small ? " small" : "") + "\"><canvas id=\"" + id +
               "\"></canvas></div>\n";
    }
    Json data() const { return Json{{"charts", charts_}}; }

private:
    Json charts_ = Json::array();
};

Json axis(const std::string& title, bool log = false) { return Json{{"title", title}, {"log", log}}; }

Json series(const std::string& name, Json points, const char* axis_id = "y", bool dash = false, int color = -1) {
    Json s{{"name", name}, {"points", std::move(points)}, {"axis", axis_id}, {"dash", dash}};
    if (color >= 0) s["color"] = color;
    return s;
}

Json mark(const std::string& name, Json points, Json texts, const char* style, const char* color, const char* axis_id) {
    return Json{{"name", name},
                {"points", std::move(points)},
                {"texts", std::move(texts)},
                {"style", style},
                {"color", color},
                {"axis", axis_id}};
}

// ---- tables ----

std::string verdict_cell(const EpochReport& e) {
    const bool valid = e.record.verdict == "valid";
    std::string out = std::string("<span class=\"verdict ") + (valid ? "valid" : "invalid") + "\">" +
                      html_escape(valid                        ? "valid"
                                  : e.record.verdict == "none" ? "no verdict"
                                                               : "INVALID") +
                      "</span>";
    if (!e.record.reasons.empty()) {
        out += "<ul class=\"reasons\">";
        for (const auto& r : e.record.reasons)
            out += "<li><code>" + html_escape(r.code) + "</code> " + html_escape(r.message) + "</li>";
        out += "</ul>";
    }
    return out;
}

std::string num_cell(const std::string& text) { return "<td class=\"num\">" + html_escape(text) + "</td>"; }
std::string invalid_cell() { return "<td class=\"invalid\">invalid</td>"; }

std::string epochs_table(const Report& report) {
    std::string out =
        "<div class=\"scroll\"><table id=\"epochs\"><thead><tr><th>epoch</th><th>label</th><th>verdict</th>"
        "<th>TPS</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>errors</th>"
        "<th>client/server</th><th>window s</th><th>campaign point</th></tr></thead><tbody>\n";
    for (const auto& e : report.epochs) {
        const bool m = e.record.measured;
        out += "<tr><td class=\"num\">" + std::to_string(e.epoch) + "</td><td>" + html_escape(e.label.value_or("")) +
               "</td><td>" + verdict_cell(e) + "</td>";
        out += m ? num_cell(grouped(e.tps)) : invalid_cell();
        for (auto f : {&Latency::p50, &Latency::p90, &Latency::p99, &Latency::p999, &Latency::max})
            out += !m ? invalid_cell() : num_cell(e.latency ? ms_text((*e.latency).*f) : "-");
        out += num_cell(e.errors ? grouped(e.errors->total) : "-");
        out += m ? num_cell(detail::fixed(e.client_server_ratio, 4)) : invalid_cell();
        out += num_cell(detail::fixed(e.actual_window_seconds, 3));
        out += "<td>" + html_escape(e.point) + "</td></tr>\n";
    }
    return out + "</tbody></table></div>\n";
}

std::string manifest_table(const Report& report) {
    const auto spread = manifest_spread(report.epochs);
    const auto differs = [&](std::string_view key) {
        for (const auto& s : spread)
            if (s.key == key) return true;
        return false;
    };
    std::string out = "<div class=\"scroll\"><table id=\"manifest\"><thead><tr><th>epoch</th>";
    for (const auto& k : manifest_keys())
        out += std::string("<th") + (differs(k.key) ? " class=\"differs\"" : "") + ">" + html_escape(k.title) +
               (k.workload ? "" : " *") + "</th>";
    out += "</tr></thead><tbody>\n";
    for (const auto& e : report.epochs) {
        out += "<tr><td class=\"num\">" + std::to_string(e.epoch) + "</td>";
        for (const auto& k : manifest_keys()) {
            const auto it = e.manifest.find(k.key);
            out += std::string("<td") + (differs(k.key) ? " class=\"differs\"" : "") + ">" +
                   html_escape(manifest_text(k.key, it == e.manifest.end() ? nullptr : &*it)) + "</td>";
        }
        out += "</tr>\n";
    }
    return out + "</tbody></table></div>\n";
}

// ---- charts ----

std::string latency_percentiles(const Report& report, Page& page) {
    Json lines = Json::array();
    bool positive = true;
    std::string left_out;
    for (const auto& e : report.epochs) {
        if (!e.record.measured || !e.latency) {
            left_out += (left_out.empty() ? "" : ", ") + std::to_string(e.epoch);
            continue;
        }
        const auto& l = *e.latency;
        Json values = Json::array();
        for (auto v : {l.p50, l.p90, l.p99, l.p999, l.max}) {
            values.push_back(ms(v));
            positive = positive && (!v || *v > 0);
        }
        lines.push_back(Json{{"name", epoch_name(e)}, {"values", values}});
    }
    std::string out = "<h2 id=\"latency\">Latency percentiles</h2>\n";
    if (lines.empty()) return out + "<p class=\"note\">No epoch has a measured latency.</p>\n";
    out +=
        "<p class=\"note\">Each line is one epoch's latency of the committed transfers in its window, merged over "
        "its generators (docs/results.md, latency).</p>\n";
    out += page.chart(Json{{"kind", "category"},
                           {"title", "Latency percentiles per epoch"},
                           {"categories", {"p50", "p90", "p99", "p99.9", "max"}},
                           {"x", axis("percentile")},
                           {"y", axis(positive ? "ms (log scale)" : "ms", positive)},
                           {"series", lines}});
    if (!left_out.empty())
        out += "<p class=\"note\">Not shown (invalid, or no latency): epochs " + html_escape(left_out) + ".</p>\n";
    return out;
}

std::string timeline(const EpochReport& e, Page& page) {
    const bool valid = e.record.verdict == "valid";
    std::string out = "<h3 id=\"epoch-" + std::to_string(e.epoch) + "\">" + html_escape(epoch_name(e)) + " — " +
                      std::string("<span class=\"verdict ") + (valid ? "valid\">valid" : "invalid\">INVALID") +
                      "</span></h3>\n";
    if (!e.record.measured)
        out += "<p class=\"note\">Its figures are not a measurement (" + html_escape(detail::reason_codes(e.record)) +
               "): the lines show what happened, not the server's throughput.</p>\n";
    Json lines = Json::array();
    if (!e.timeline.empty()) {
        // Each server point is the rate of the step that ends at it (since
        // the previous read, the first since the window's start): drawn as
        // steps, the first one from t = 0.
        Json pts = Json::array({Json::array({0.0, nullable(e.timeline.front().tps)})});
        for (const auto& p : e.timeline) pts.push_back(Json::array({p.t_ms / 1000.0, nullable(p.tps)}));
        auto line = series("server TPS", pts, "y", false, 0);
        line["stepped"] = true;
        lines.push_back(std::move(line));
    }
    bool latency = false;
    if (e.client_timeline && !e.client_timeline->empty()) {
        Json tps = Json::array(), p50 = Json::array(), p99 = Json::array();
        for (const auto& p : *e.client_timeline) {
            // A client second counts [t, t + 1 s): drawn at its middle.
            const double t = p.t_ms / 1000.0 + 0.5;
            tps.push_back(Json::array({t, nullable(p.tps)}));
            p50.push_back(Json::array({t, ms(p.p50_us)}));
            p99.push_back(Json::array({t, ms(p.p99_us)}));
            latency = latency || p.p50_us || p.p99_us;
        }
        lines.push_back(series("client TPS", tps, "y", true, 1));
        if (latency) {
            lines.push_back(series("client p50 ms", p50, "y2", false, 2));
            lines.push_back(series("client p99 ms", p99, "y2", false, 3));
        }
    }
    if (lines.empty())
        return out +
               "<p class=\"note\">No timeline: the server's counter was not sampled in the window "
               "(--sample-ms 0, or a window read failed) and the result has no clientTimeline.</p>\n";
    // The whole window, from its start: the first server point ends the
    // first step, it does not start the window.
    Json x = axis("seconds into the window");
    x["min"] = 0;
    if (e.actual_window_seconds > 0) x["max"] = e.actual_window_seconds;
    Json spec{{"kind", "xy"},
              {"title", epoch_name(e) + (valid ? "" : " (INVALID)")},
              {"x", x},
              {"y", axis("transfers/s")},
              {"series", lines}};
    spec["y"]["beginAtZero"] = true;
    if (latency) spec["y2"] = axis("latency ms");
    out += page.chart(std::move(spec), true);
    if (!e.client_timeline)
        out +=
            "<p class=\"note\">This result has no clientTimeline (it was written before results carried one): "
            "the server's TPS only.</p>\n";
    else if (e.timeline.empty())
        out +=
            "<p class=\"note\">No server timeline (--sample-ms 0, or a window read failed): the clients' "
            "seconds only.</p>\n";
    return out;
}

std::string campaign_charts(const CampaignReport& c, Page& page) {
    const auto curves = campaign_curves(c);
    if (curves.series.empty()) return "<p class=\"note\">No point of this campaign has run yet.</p>\n";
    Json tps_lines = Json::array(), lat_lines = Json::array();
    Json invalid_pts = Json::array(), invalid_texts = Json::array();
    Json broken_pts = Json::array(), broken_texts = Json::array();
    std::string invalid_list;
    int color = 0;
    for (const auto& s : curves.series) {
        Json tps = Json::array(), p50 = Json::array(), p99 = Json::array();
        for (const auto& p : s.points) {
            tps.push_back(Json::array({p.x, nullable(p.tps)}));
            if (p.tps) {
                p50.push_back(Json::array({*p.tps, ms(p.p50_us)}));
                p99.push_back(Json::array({*p.tps, ms(p.p99_us)}));
            }
            if (p.status == "invalid") {
                invalid_pts.push_back(Json::array({p.x, 0.06}));
                invalid_texts.push_back(p.description + ": invalid, no figure (" + p.why + ")");
                invalid_list += (invalid_list.empty() ? "" : "; ") + p.description + " (" + p.why + ")";
            } else if (!p.slo_ok && p.tps) {
                broken_pts.push_back(Json::array({p.x, *p.tps}));
                broken_texts.push_back(p.description + ": SLO broken at " + grouped(*p.tps) + " TPS");
            }
        }
        tps_lines.push_back(series(s.name, tps, "y", false, color));
        lat_lines.push_back(series(s.name + " p99", p99, "y", false, color));
        lat_lines.push_back(series(s.name + " p50", p50, "y", true, color));
        ++color;
    }
    Json tps_marks = Json::array(), lat_marks = Json::array();
    if (!invalid_pts.empty())
        tps_marks.push_back(mark("invalid (no figure)", invalid_pts, invalid_texts, "crossRot", "#b3261e", "invalid"));
    if (!broken_pts.empty())
        tps_marks.push_back(mark("SLO broken", broken_pts, broken_texts, "triangle", "#ea580c", "y"));
    std::string knee_text;
    if (curves.knee && curves.knee->tps) {
        const auto& k = *curves.knee;
        knee_text = "knee: " + k.description + ", " + grouped(*k.tps) + " TPS" +
                    (k.p99_us ? ", p99 " + ms_text(k.p99_us) + " ms" : std::string());
        tps_marks.push_back(
            mark("knee", Json::array({Json::array({k.x, *k.tps})}), Json::array({knee_text}), "star", "#111827", "y"));
        if (k.p99_us)
            lat_marks.push_back(mark("knee", Json::array({Json::array({*k.tps, *k.p99_us / 1000.0})}),
                                     Json::array({knee_text}), "star", "#111827", "y"));
    }
    const auto knob_title = curves.knob + (curves.log_x ? " (log scale)" : "");
    Json knob_axis = axis(knob_title, curves.log_x);
    if (curves.log_x) {
        // Around the points: a log axis left to itself starts at 1.
        double lo = 0, hi = 0;
        for (const auto& s : curves.series)
            for (const auto& p : s.points) {
                lo = lo == 0 ? p.x : std::min(lo, p.x);
                hi = std::max(hi, p.x);
            }
        knob_axis["min"] = lo / 1.3;
        knob_axis["max"] = hi * 1.3;
    }
    Json tps_chart{{"kind", "xy"},        {"title", "TPS against " + curves.knob},
                   {"x", knob_axis},      {"y", axis("TPS (median of the repeats)")},
                   {"series", tps_lines}, {"marks", tps_marks}};
    tps_chart["y"]["beginAtZero"] = true;
    Json lat_chart{{"kind", "xy"},
                   {"title", "Latency against TPS"},
                   {"x", axis("TPS (median of the repeats)")},
                   {"y", axis("latency ms (median of the repeats)")},
                   {"series", lat_lines},
                   {"marks", lat_marks}};
    lat_chart["y"]["beginAtZero"] = true;
    std::string out = "<div class=\"grid2\"><div>" + page.chart(std::move(tps_chart)) + "</div><div>" +
                      page.chart(std::move(lat_chart)) + "</div></div>\n";
    if (!knee_text.empty()) out += "<p class=\"note\">" + html_escape(knee_text) + " (the star).</p>\n";
    if (!invalid_list.empty())
        out += "<p class=\"note\">Invalid points (crosses, no figure: their height means nothing): " +
               html_escape(invalid_list) + ".</p>\n";
    return out;
}

std::string campaign_section(const CampaignReport& c, Page& page) {
    const auto& camp = c.campaign;
    std::string out = "<section class=\"campaign\"><h2 id=\"campaign-" + html_escape(camp.id) + "\">Campaign " +
                      html_escape(camp.id) + " (" + std::string(campaign::kind_name(camp.kind)) + ", " +
                      std::string(campaign::status_name(camp.status)) + ")</h2>\n";
    out += "<p>" + html_escape(detail::campaign_summary(camp)) + "</p>\n";
    if (const auto outcome = detail::campaign_outcome(camp); !outcome.empty())
        out += "<p><strong>" + html_escape(outcome) + "</strong></p>\n";
    out += campaign_charts(c, page);
    out +=
        "<div class=\"scroll\"><table class=\"points\"><thead><tr><th>point</th><th>status</th><th>TPS median</th>"
        "<th>TPS min .. max</th><th>n</th><th>p50 ms</th><th>p99 ms</th><th>SLOs</th><th>epochs</th></tr></thead>"
        "<tbody>\n";
    for (std::size_t i = 0; i < c.points.size(); ++i) {
        const auto& p = c.points[i];
        const bool has = p.contains("tps");
        const auto number = [&](const char* obj, const char* key) -> std::optional<double> {
            if (!p.contains(obj) || !p[obj].contains(key) || !p[obj][key].is_number()) return std::nullopt;
            return p[obj][key].get<double>();
        };
        const auto status = p.value("status", std::string());
        std::string epochs;
        for (const auto& e : camp.points[i].epochs)
            epochs += (epochs.empty() ? "" : ", ") + std::to_string(e.epoch) + (e.measured ? "" : " (invalid)");
        out += "<tr><td>" + html_escape(detail::point_name(camp, p)) + "</td><td>";
        out += status == "invalid" ? "<span class=\"verdict invalid\">invalid</span><ul class=\"reasons\"><li>" +
                                         html_escape(detail::point_reasons(p)) + "</li></ul>"
                                   : html_escape(status);
        out += "</td>";
        if (has) {
            out += num_cell(grouped(*number("tps", "median"))) +
                   num_cell(grouped(*number("tps", "min")) + " .. " + grouped(*number("tps", "max"))) +
                   num_cell(std::to_string(p["tps"].value("n", 0))) + num_cell(ms_text(number("latency", "p50Us"))) +
                   num_cell(ms_text(number("latency", "p99Us"))) + "<td>" +
                   (p.value("sloOk", true) ? "met" : "<span class=\"invalid\">broken</span>") + "</td>";
        } else {
            out += status == "invalid" ? invalid_cell() + invalid_cell() : "<td>-</td><td>-</td>";
            out += "<td class=\"num\">0</td><td>-</td><td>-</td><td>-</td>";
        }
        out += "<td>" + html_escape(epochs) + "</td></tr>\n";
    }
    out += "</tbody></table></div>\n";
    return out + "</section>\n";
}

}  // namespace

std::string render_html(const Report& report, const HtmlOptions& options) {
    Page page;
    std::string body;
    body += "<h1>bench-dist report</h1>\n<p class=\"meta\">Generated " + html_escape(options.generated_at) +
            " by bench-dist-control " + html_escape(options.tool_version) + " from ";
    std::string inputs;
    for (const auto& in : options.inputs) inputs += (inputs.empty() ? "" : ", ") + in;
    body += html_escape(inputs.empty() ? std::string("(no inputs)") : inputs) + ".</p>\n";
    body += "<p class=\"summary\">" + html_escape(detail::report_summary(report)) + "</p>\n";
    if (!report.notes.empty()) {
        body += "<ul class=\"notes\">";
        for (const auto& n : report.notes) body += "<li>" + html_escape(n) + "</li>";
        body += "</ul>\n";
    }
    if (!report.epochs.empty()) {
        body +=
            "<h2 id=\"epochs-heading\">Epochs</h2>\n<p class=\"note\">An invalid epoch's figures are not a "
            "measurement: they are shown as <span class=\"invalid\">invalid</span>, with the reasons.</p>\n";
        body += epochs_table(report);
        body +=
            "<h2 id=\"manifest-heading\">Workload manifest</h2>\n<p class=\"note\">What each epoch ran. Epochs "
            "are comparable when every workload column agrees; highlighted columns differ between epochs; "
            "columns marked * are context (the figures still measure the same load).</p>\n";
        body += manifest_table(report);
    }
    for (const auto& c : report.campaigns) body += campaign_section(c, page);
    if (!report.epochs.empty()) {
        body += latency_percentiles(report, page);
        body +=
            "<h2 id=\"timelines\">Timelines</h2>\n<p class=\"note\">Per second of each epoch's measured window: "
            "the server's committed transfers per second (its counter, sampled by the coordinator), and where "
            "the result has a clientTimeline, the generators' committed transfers per second and their p50 and "
            "p99 latency.</p>\n";
        for (const auto& e : report.epochs) body += timeline(e, page);
    }
    const auto chart = webassets::chart_js();
    const auto script = embedded::report_page_js;
    const auto css = embedded::report_page_css;
    // Inlined as they are: text that ends their element would break the page.
    if (chart.find("</script") != std::string_view::npos || script.find("</script") != std::string_view::npos ||
        css.find("</style") != std::string_view::npos)
        throw ReportError("an embedded web asset contains the end of its own element; it cannot be inlined");
    const auto csp = "default-src 'none'; script-src " + csp_hash(chart) + " " + csp_hash(script) + "; style-src " +
                     csp_hash(css) + "; img-src data:; base-uri 'none'; form-action 'none'";
    std::string page_text = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    page_text += "<meta http-equiv=\"Content-Security-Policy\" content=\"" + html_escape(csp) + "\">\n";
    page_text += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    page_text += "<meta name=\"generator\" content=\"bench-dist-control " + html_escape(options.tool_version) + "\">\n";
    page_text += "<link rel=\"icon\" href=\"data:,\">\n<title>bench-dist report</title>\n<style>";
    page_text.append(css);
    page_text += "</style>\n</head>\n<body>\n" + body;
    page_text += "<footer>Charts drawn with Chart.js " + std::string(webassets::chart_js_version()) +
                 " (MIT licence), included in this file; the page loads nothing from the network.</footer>\n";
    page_text +=
        "<script type=\"application/json\" id=\"report-data\">" + script_safe_json(page.data()) + "</script>\n<script>";
    page_text.append(chart);
    page_text += "</script>\n<script>";
    page_text.append(script);
    page_text += "</script>\n</body>\n</html>\n";
    return page_text;
}

}  // namespace benchdist::report
