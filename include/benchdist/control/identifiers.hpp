// The rules for the names that travel through the control plane -- a
// generator's id, the host name it reports, an epoch's label -- and for the
// connection counts a generator announces. The coordinator checks requests
// against them (control/protocol.cpp), bench-dist-generator checks its own
// --id and --hostname at startup, bench-dist-control its --generator-ids and
// --label, so a name one of them accepts is never refused by another.
//
// Why these rules: ids and host names are printed in log lines, in
// bench-dist-control's tables and in comma-separated lists (--generator-ids),
// and are sent in URLs (GET /state?id=). A small ASCII alphabet without
// spaces, commas, quotes or control characters keeps each of those a plain
// token, and a length cap keeps one request from filling a log with a
// megabyte of name. Labels are free text for people, so they only lose
// control characters and length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace benchdist::control {

enum class NameKind {
    // A generator's id: 1 to 128 bytes of A-Z a-z 0-9 . _ : @ -. Ours
    // default to `<host name>-<pid>`, as the original harness's did.
    GeneratorId,
    // The host name a generator reports: 1 to 255 bytes of A-Z a-z 0-9 . _ : -
    // (a DNS name, with '_' as some hosts have and ':' for an IPv6 address).
    Hostname,
};

inline constexpr std::size_t kMaxGeneratorIdBytes = 128;
inline constexpr std::size_t kMaxHostnameBytes = 255;
// An epoch's label: at most 256 bytes of UTF-8 without control characters
// (U+0000-U+001F, U+007F-U+009F).
inline constexpr std::size_t kMaxLabelBytes = 256;
// The most connections one generator may announce (/register's
// desiredConnections; bench-dist-generator's --concurrency). A million
// WebSocket connections is past what one host holds even with many source
// addresses; a larger number is a mistake or an attack, and would make the
// epoch's participant count meaningless.
inline constexpr std::uint64_t kMaxConnectionsPerGenerator = 1000000;

// What is wrong with `value` as a name of that kind -- e.g. `is not a valid
// generator id: byte 6 is \x0A; use 1 to 128 bytes of A-Z a-z 0-9 . _ : @ -,
// got "gen-a\x0Aphase=idle"` -- or "" when nothing is. The offending value
// is shown escaped (text::printable) and cut short.
std::string name_problem(NameKind kind, std::string_view value);

// The same for a label: too long, not UTF-8, or holding a control character.
std::string label_problem(std::string_view label);

// The rule in words, for --help texts and docs: "1 to 128 bytes of A-Z a-z
// 0-9 . _ : @ -".
std::string_view name_rule(NameKind kind);

}  // namespace benchdist::control
