// Chart.js, embedded at build time from Debian's libjs-chart.js, so the
// coordinator's dashboard and the control's HTML reports draw charts with
// no network at run time (never a CDN): the page served, or the file
// written, holds everything it needs.
#pragma once

#include <string_view>

namespace benchdist::webassets {

// The minified library (its own licence header included), as shipped.
std::string_view chart_js();
// Its version, from that header ("3.9.1"); empty if the header is not found.
std::string_view chart_js_version();

}  // namespace benchdist::webassets
