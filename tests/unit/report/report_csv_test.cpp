// The CSV against the JSON it came from: every column of every row is
// checked against the result file's own keys, computed here without the
// report's model, so a column that drifts from docs/results.md fails.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "benchdist/report/render.hpp"
#include "report_fixtures.hpp"

using namespace benchdist::report;
using namespace report_fixtures;

namespace {

// RFC 4180: records end with CRLF; a quoted field may hold commas, CRLF
// and doubled quotes. Fails the test on anything else.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    std::size_t i = 0;
    bool quoted = false, was_quoted = false;
    while (i < text.size()) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field.push_back('"');
                i += 2;
            } else if (c == '"') {
                quoted = false;
                ++i;
            } else {
                field.push_back(c);
                ++i;
            }
            continue;
        }
        if (c == '"') {
            EXPECT_TRUE(field.empty()) << "a quote inside an unquoted field at byte " << i;
            quoted = was_quoted = true;
            ++i;
        } else if (c == ',') {
            row.push_back(field);
            field.clear();
            was_quoted = false;
            ++i;
        } else if (c == '\r') {
            EXPECT_EQ(text[i + 1], '\n') << "a bare CR at byte " << i;
            row.push_back(field);
            rows.push_back(row);
            row.clear();
            field.clear();
            was_quoted = false;
            i += 2;
        } else {
            EXPECT_NE(c, '\n') << "a bare LF outside quotes at byte " << i;
            field.push_back(c);
            ++i;
        }
    }
    EXPECT_FALSE(quoted) << "an unterminated quote";
    EXPECT_TRUE(row.empty() && field.empty() && !was_quoted) << "the last record does not end with CRLF";
    return rows;
}

// What a cell must hold: a number (the cell reads back as exactly it), a
// string (exactly it), or nothing (an empty cell).
using Expected = Json;

std::string join(const Json& reasons, bool messages) {
    std::string out;
    for (const auto& r : reasons) {
        const auto code = r["code"].get<std::string>();
        if (messages)
            out += (out.empty() ? "" : "; ") + code + ": " + r["message"].get<std::string>();
        else
            out += (out.empty() ? "" : " ") + code;
    }
    return out;
}

// A text cell as a spreadsheet must see it: a leading ' before a formula.
Json text(const std::string& s) {
    if (!s.empty() && std::string("=+-@\t\r").find(s[0]) != std::string::npos) return "'" + s;
    return s;
}

bool measured(const Json& j) {
    // docs/campaigns.md: valid, or invalid only by threshold_failed.
    for (const auto& r : j["reasons"])
        if (r["code"] != "threshold_failed") return false;
    return true;
}

Json figure(const Json& j, const Json& v) { return measured(j) ? v : Json(); }

struct Row {
    Json result;
    std::string file, campaign, point;
};

const std::map<std::string, std::function<Expected(const Row&)>>& expectations() {
    static const std::map<std::string, std::function<Expected(const Row&)>> e{
        {"epoch", [](const Row& r) { return r.result["epoch"]; }},
        {"label", [](const Row& r) { return text(r.result["label"].get<std::string>()); }},
        {"verdict", [](const Row& r) { return r.result["verdict"]; }},
        {"measured", [](const Row& r) { return Json(measured(r.result) ? "true" : "false"); }},
        {"reason_codes", [](const Row& r) { return Json(join(r.result["reasons"], false)); }},
        {"reasons", [](const Row& r) { return text(join(r.result["reasons"], true)); }},
        {"tps", [](const Row& r) { return figure(r.result, r.result["tps"]); }},
        {"committed", [](const Row& r) { return figure(r.result, r.result["committedDelta"]); }},
        {"actual_window_seconds", [](const Row& r) { return r.result["actualWindowSeconds"]; }},
        {"measured_at", [](const Row& r) { return r.result["measuredAt"]; }},
        {"finished_at", [](const Row& r) { return r.result["finishedAt"]; }},
        {"latency_kind", [](const Row& r) { return r.result["latency"]["kind"]; }},
        {"latency_count", [](const Row& r) { return figure(r.result, r.result["latency"]["count"]); }},
        {"mean_us", [](const Row& r) { return figure(r.result, r.result["latency"]["mean"]); }},
        {"p50_us", [](const Row& r) { return figure(r.result, r.result["latency"]["p50"]); }},
        {"p90_us", [](const Row& r) { return figure(r.result, r.result["latency"]["p90"]); }},
        {"p99_us", [](const Row& r) { return figure(r.result, r.result["latency"]["p99"]); }},
        {"p999_us", [](const Row& r) { return figure(r.result, r.result["latency"]["p999"]); }},
        {"max_us", [](const Row& r) { return figure(r.result, r.result["latency"]["max"]); }},
        {"errors", [](const Row& r) { return r.result["errors"]["total"]; }},
        {"timeouts", [](const Row& r) { return r.result["errors"]["timeouts"]; }},
        {"disconnects", [](const Row& r) { return r.result["errors"]["disconnects"]; }},
        {"internal_errors", [](const Row& r) { return r.result["errors"]["internalErrors"]; }},
        {"module_errors",
         [](const Row& r) {
             double sum = 0;
             for (const auto& [message, n] : r.result["errors"]["moduleErrors"].items()) sum += n.get<double>();
             return Json(sum);
         }},
        {"client_server_ratio", [](const Row& r) { return figure(r.result, r.result["clientServerRatio"]); }},
        {"verification", [](const Row& r) { return r.result["verification"]; }},
        {"error", [](const Row& r) { return Json(r.result.value("error", std::string())); }},
        {"connections", [](const Row& r) { return r.result["participantConnections"]; }},
        {"inflight", [](const Row& r) { return r.result["manifest"]["workload"]["maxInflight"]; }},
        {"rate_mode", [](const Row& r) { return r.result["manifest"]["workload"]["rateMode"]; }},
        {"rate", [](const Row&) { return Json(); }},  // closed loop
        {"confirmed_reads",
         [](const Row& r) {
             const auto& v = r.result["manifest"]["workload"]["confirmedReads"];
             return v.is_null() ? Json("server default") : Json(v.dump());
         }},
        {"compression", [](const Row& r) { return r.result["manifest"]["workload"]["compression"]; }},
        {"protocol", [](const Row& r) { return r.result["manifest"]["workload"]["protocol"]; }},
        {"negotiated_protocol",
         [](const Row& r) { return r.result["manifest"]["generators"]["gen-a"]["negotiatedProtocol"]; }},
        {"alpha", [](const Row& r) { return r.result["manifest"]["workload"]["alpha"]; }},
        {"accounts", [](const Row& r) { return r.result["manifest"]["workload"]["accounts"]; }},
        {"pair_mode", [](const Row& r) { return r.result["manifest"]["workload"]["pairMode"]; }},
        {"warmup", [](const Row& r) { return r.result["warmupSeconds"]; }},
        {"window", [](const Row& r) { return r.result["windowSeconds"]; }},
        {"generators", [](const Row& r) { return Json(r.result["participantIds"].size()); }},
        {"tool_version", [](const Row& r) { return r.result["manifest"]["toolVersion"]; }},
        {"server",
         [](const Row& r) {
             const auto& s = r.result["manifest"]["server"];
             return Json(s["url"].get<std::string>() + " " + s["database"].get<std::string>());
         }},
        {"campaign", [](const Row& r) { return Json(r.campaign); }},
        {"point", [](const Row& r) { return Json(r.point); }},
        {"file", [](const Row& r) { return Json(r.file); }},
    };
    return e;
}

void expect_cell(const std::string& column, const std::string& cell, const Expected& want, std::uint64_t epoch) {
    SCOPED_TRACE("epoch " + std::to_string(epoch) + ", column " + column);
    if (want.is_null()) {
        EXPECT_EQ(cell, "");
    } else if (want.is_number()) {
        ASSERT_FALSE(cell.empty());
        std::size_t used = 0;
        const double v = std::stod(cell, &used);
        EXPECT_EQ(used, cell.size()) << cell;
        EXPECT_EQ(v, want.get<double>()) << cell << " is not exactly " << want.dump();
    } else {
        EXPECT_EQ(cell, want.get<std::string>());
    }
}

}  // namespace

TEST(ReportCsv, EveryColumnOfEveryRowMatchesTheResultJson) {
    const std::vector<Row> rows{
        {demo_result(), "demo.json", "", ""},
        {sweep_result(), "sweep.json", "20261207T054348Z-2c484b", "connections=8 alpha=0"},
        {invalid_hostile_result(), "hostile.json", "", ""},
    };
    Report report;
    for (const auto& r : rows) report.epochs.push_back(epoch_report_from_json(r.result, r.file));
    report.campaigns.push_back(campaign_report_from_json(sweep_campaign(), "c.json"));
    link_campaigns(report);

    const auto csv = parse_csv(render_csv(report));
    ASSERT_EQ(csv.size(), rows.size() + 1);
    const auto& header = csv[0];
    std::vector<std::string> columns(csv_columns().begin(), csv_columns().end());
    EXPECT_EQ(header, columns);
    for (const auto& name : header)
        EXPECT_TRUE(expectations().count(name)) << "column " << name << " is not checked against the JSON";
    // link_campaigns sorts by epoch: 1 (demo), 2 (sweep), 7 (hostile).
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& cells = csv[i + 1];
        ASSERT_EQ(cells.size(), header.size()) << "row " << i + 1;
        for (std::size_t c = 0; c < header.size(); ++c) {
            const auto it = expectations().find(header[c]);
            if (it == expectations().end()) continue;
            expect_cell(header[c], cells[c], it->second(rows[i]), rows[i].result["epoch"].get<std::uint64_t>());
        }
    }
}

TEST(ReportCsv, HostileTextStaysInItsCellAndIsNotAFormula) {
    Report report;
    report.epochs.push_back(epoch_report_from_json(invalid_hostile_result(), "h.json"));
    const auto text_csv = render_csv(report);
    const auto csv = parse_csv(text_csv);
    ASSERT_EQ(csv.size(), 2u);
    ASSERT_EQ(csv[1].size(), csv_columns().size()) << "the label's commas and line break stayed inside its cell";
    EXPECT_EQ(csv[1][1], "'" + kHostile) << "a leading ' keeps a spreadsheet from running =cmd|...";
    EXPECT_EQ(csv[1][6], "") << "an invalid epoch has no tps figure";
}

TEST(ReportCsv, AnEmptyReportIsItsHeader) {
    const auto csv = render_csv(Report{});
    EXPECT_EQ(csv.substr(0, 6), "epoch,");
    EXPECT_EQ(csv.find("\r\n"), csv.size() - 2);
}
