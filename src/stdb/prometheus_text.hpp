// What the three parts of prometheus.hpp (parsing, finding a counter,
// writing) share: ASCII character classes, case-insensitive comparison
// and the text form of a label set. Private to the stdb component.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "benchdist/bsatn/reader.hpp"
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

// A label value as the text format writes it: \\, \" and \n escaped, and
// every byte that is not part of well-formed UTF-8 replaced by U+FFFD --
// Prometheus refuses a whole scrape over one label value that is not UTF-8,
// and a value may come from a peer (a module's error text, an epoch label).
inline void append_escaped(std::string& out, std::string_view value) {
    for (std::size_t i = 0; i < value.size();) {
        const char c = value[i];
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else if (const std::size_t n = bsatn::utf8_sequence_length(value, i); n == 0) {
            out += "\xEF\xBF\xBD";
        } else {
            out.append(value, i, n);
            i += n;
            continue;
        }
        ++i;
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
