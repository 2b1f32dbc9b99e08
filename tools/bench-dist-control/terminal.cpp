#include "terminal.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace benchdist::control_tool {

TerminalInfo terminal_info_from(const TerminalFacts& facts) {
    TerminalInfo info;
    const std::string_view term = facts.term ? facts.term : "";
    info.tty = facts.is_tty && !term.empty() && term != "dumb";
    info.color = info.tty && (!facts.no_color || *facts.no_color == '\0');
    if (facts.window_columns > 0) {
        info.width = facts.window_columns;
    } else if (facts.columns) {
        char* end = nullptr;
        const auto n = std::strtoul(facts.columns, &end, 10);
        if (end != facts.columns && *end == '\0' && n > 0 && n < 10000) info.width = n;
    }
    if (facts.window_rows > 0) info.height = facts.window_rows;
    return info;
}

TerminalInfo terminal_info(int fd) {
    TerminalFacts facts;
    facts.is_tty = isatty(fd) == 1;
    facts.term = std::getenv("TERM");
    facts.no_color = std::getenv("NO_COLOR");
    facts.columns = std::getenv("COLUMNS");
    winsize ws{};
    if (facts.is_tty && ioctl(fd, TIOCGWINSZ, &ws) == 0) {
        facts.window_columns = ws.ws_col;
        facts.window_rows = ws.ws_row;
    }
    return terminal_info_from(facts);
}

}  // namespace benchdist::control_tool
