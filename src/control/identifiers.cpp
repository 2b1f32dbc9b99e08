#include "benchdist/control/identifiers.hpp"

#include <cstdio>

#include "benchdist/bsatn/reader.hpp"
#include "benchdist/text/printable.hpp"

namespace benchdist::control {

namespace {

struct Rule {
    const char* what;        // "generator id"
    std::string_view extra;  // allowed besides A-Z a-z 0-9
    std::size_t max_bytes;
    std::string_view words;
};

const Rule& rule_of(NameKind kind) {
    static const Rule kGeneratorId{"generator id", "._:@-", kMaxGeneratorIdBytes,
                                   "1 to 128 bytes of A-Z a-z 0-9 . _ : @ -"};
    static const Rule kHostname{"host name", "._:-", kMaxHostnameBytes, "1 to 255 bytes of A-Z a-z 0-9 . _ : -"};
    return kind == NameKind::GeneratorId ? kGeneratorId : kHostname;
}

bool is_alnum_ascii(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

std::string byte_name(unsigned char c) {
    char buf[8];
    if (c >= 0x21 && c < 0x7f) {
        std::snprintf(buf, sizeof buf, "'%c'", c);
    } else {
        std::snprintf(buf, sizeof buf, "\\x%02X", c);
    }
    return buf;
}

}  // namespace

std::string_view name_rule(NameKind kind) { return rule_of(kind).words; }

std::string name_problem(NameKind kind, std::string_view value) {
    const Rule& rule = rule_of(kind);
    const std::string tail = "; use " + std::string(rule.words) + ", got " + text::quoted_excerpt(value);
    const std::string head = std::string("is not a valid ") + rule.what + ": ";
    if (value.empty()) return head + "it is empty" + tail;
    if (value.size() > rule.max_bytes) {
        return head + "it is " + std::to_string(value.size()) + " bytes long" + tail;
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        if (!is_alnum_ascii(c) && rule.extra.find(static_cast<char>(c)) == std::string_view::npos) {
            return head + "byte " + std::to_string(i + 1) + " is " + byte_name(c) + tail;
        }
    }
    return {};
}

std::string label_problem(std::string_view label) {
    const std::string tail = ", got " + text::quoted_excerpt(label);
    if (label.size() > kMaxLabelBytes) {
        return "is " + std::to_string(label.size()) + " bytes long; a label is at most " +
               std::to_string(kMaxLabelBytes) + " bytes" + tail;
    }
    if (!bsatn::is_valid_utf8(label)) return "is not UTF-8" + tail;
    for (std::size_t i = 0; i < label.size(); ++i) {
        const auto c = static_cast<unsigned char>(label[i]);
        // In valid UTF-8, C2 80-C2 9F is exactly the C1 range U+0080-U+009F.
        const bool c1 = c == 0xC2 && i + 1 < label.size() && static_cast<unsigned char>(label[i + 1]) <= 0x9F;
        if (c < 0x20 || c == 0x7F || c1) {
            return "holds a control character (byte " + std::to_string(i + 1) +
                   "); a label is text without control characters" + tail;
        }
    }
    return {};
}

}  // namespace benchdist::control
