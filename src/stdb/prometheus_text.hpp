// What the three parts of prometheus.hpp (parsing, finding a counter,
// writing) share: ASCII character classes, case-insensitive comparison
// and the text form of a label set. Private to the stdb component.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "benchdist/stdb/prometheus.hpp"

namespace benchdist::stdb::prometheus_text {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

inline void append_escaped(std::string& out, std::string_view value) {
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

inline void append_labels(std::string& out, const LabelSet& labels) {
    out += '{';
    bool first = true;
    for (const Label& l : labels) {
        if (!first) out += ',';
        first = false;
        out += l.name;
        out += "=\"";
        append_escaped(out, l.value);
        out += '"';
    }
    out += '}';
}

}  // namespace benchdist::stdb::prometheus_text
