// Text that came from outside the process -- a peer's answer, an id or a
// label in a request, a server's error message, a file's path -- made safe
// for a log line or a terminal. Every tool writes such text through this one
// function: a generator id with a newline must not forge a second log line
// ("verification=passed"), an ESC must not recolour or clear the operator's
// terminal, a NUL must not hide what follows it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace benchdist::text {

// `text` as one line of printable ASCII: bytes 0x20-0x7E are kept, every
// other byte -- control characters, DEL, and each byte of UTF-8 beyond
// ASCII -- is written \xNN (upper-case hex). UTF-8 is escaped too because
// its C1 range (U+0080-U+009F) is read as control characters by some
// terminals, and a log line of plain ASCII greps the same everywhere; JSON
// output keeps such text as it was sent. A backslash is kept as it is, so
// messages that quote JSON stay readable; text that spells "\x0A" itself
// therefore looks like an escaped newline, but it cannot start a line.
std::string printable(std::string_view text);

// printable() of at most the first `max_bytes` bytes of `text`, quoted;
// when `text` is longer, followed by "... (N bytes)". For error messages
// that show an offending value without repeating a megabyte of it.
std::string quoted_excerpt(std::string_view text, std::size_t max_bytes = 64);

}  // namespace benchdist::text
