// Text helpers the report's renderers share: one way to write a number and
// one escaping rule per output language (HTML, CSV, markdown), so no
// renderer invents its own.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace benchdist::report::detail {

// The shortest text that reads back as exactly `v`: whole numbers without a
// fraction ("8", "193"), others as JSON writes them ("38420.19326891036").
std::string number_text(double v);
// `v` with `decimals` digits after the point ("0.193"), "-" for nullopt.
std::string fixed(std::optional<double> v, int decimals);
// µs as ms with 3 decimals, "-" for nullopt.
std::string ms_text(std::optional<double> us);
// A whole count with thousands separators ("115,299"), for tables.
std::string grouped(double v);

// &, <, >, " and ' as entities: safe in element content and in quoted
// attribute values.
std::string html_escape(std::string_view text);

// One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or
// LF (quotes doubled). A text field that starts with =, +, -, @, a tab or
// CR gets a leading ' first, so a spreadsheet shows it rather than running
// it as a formula (CSV injection); numbers are written as numbers.
std::string csv_text(std::string_view text);
std::string csv_number(std::optional<double> v);

// Text for a markdown table cell: markdown's and HTML's special characters
// (\ ` * _ [ ] < > | ~ &) backslash-escaped or written as entities, and line
// breaks as spaces, so a label can neither end the cell nor inject markup.
std::string markdown_text(std::string_view text);

}  // namespace benchdist::report::detail
