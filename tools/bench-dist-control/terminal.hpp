// Whether bench-dist-control writes to a terminal it may redraw, in colour
// or not, and how wide: from the file descriptor and the environment
// (NO_COLOR, https://no-color.org; TERM=dumb, which cannot move the cursor).
#pragma once

#include <cstddef>

#include "live_render.hpp"

namespace benchdist::control_tool {

// What the environment says, for terminal_info_from (tested without a tty).
struct TerminalFacts {
    bool is_tty = false;
    const char* term = nullptr;      // $TERM
    const char* no_color = nullptr;  // $NO_COLOR
    const char* columns = nullptr;   // $COLUMNS, when the window size is unknown
    std::size_t window_columns = 0;  // from TIOCGWINSZ; 0: unknown
    std::size_t window_rows = 0;
};

// A tty whose TERM is unset or "dumb" gets plain lines (no cursor
// movement); colour needs a tty and NO_COLOR unset or empty; the width is
// the window's, else $COLUMNS, else 80.
TerminalInfo terminal_info_from(const TerminalFacts& facts);

// The facts of `fd` and this process's environment.
TerminalInfo terminal_info(int fd);

}  // namespace benchdist::control_tool
