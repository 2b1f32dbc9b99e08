// The report's three outputs: CSV (one row per epoch, for spreadsheets and
// scripts), markdown (tables to paste into issues and papers) and one
// self-contained HTML page (tables, timelines, latency curves, campaign
// curves; Chart.js inlined, no network, a strict Content-Security-Policy).
// Every string from a file -- labels, reasons, generator ids -- is escaped
// for its output: a hostile label stays text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "benchdist/report/model.hpp"

namespace benchdist::report {

// The CSV's columns, in order (docs/observability.md ("Reports") says what each
// holds).
const std::vector<std::string_view>& csv_columns();
// A header row, then one row per epoch (RFC 4180, CRLF line ends). An epoch
// whose figures are not a measurement (EpochRecord::measured false) has
// empty figure cells: its verdict and reasons say why.
std::string render_csv(const Report& report);

// ## Epochs (a table: the figures, then the manifest keys that differ
// between epochs; the shared ones as one line under it), the invalid
// epochs' reasons, then ## Campaign sections (points, knee).
std::string render_markdown(const Report& report);

struct HtmlOptions {
    std::string generated_at;  // ISO-8601 UTC, shown in the header
    std::string tool_version;  // bench-dist-control's
    std::vector<std::string> inputs;
};
std::string render_html(const Report& report, const HtmlOptions& options);

}  // namespace benchdist::report
