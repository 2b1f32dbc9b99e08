// What bench-dist-control writes while it follows an epoch: on a terminal a
// block redrawn in place once a second (the phase with a progress bar of the
// warmup or the window, a line of server TPS, client TPS, p50, p99 and
// errors, and a table of the generators); elsewhere (a pipe, a file, a CI
// log) one timestamped line a second. Pure: given the live view, the
// clocks and the terminal, it returns the text and escape sequences to
// write, so every frame is a unit test (live_follower.hpp does the I/O).
//
// Every string from the coordinator -- ids, labels, phases, verdicts,
// reasons -- goes through text::printable, and a terminal line is cut to
// the terminal's width so the block never wraps (a wrapped line would put
// the redraw's cursor-up count off).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "live_view.hpp"

namespace benchdist::control_tool {

// Where the output goes (terminal.hpp finds it for a file descriptor).
struct TerminalInfo {
    bool tty = false;    // redraw in place; false: plain lines
    bool color = false;  // SGR colours (never without tty, never with NO_COLOR)
    std::size_t width = 80;
    std::size_t height = 24;
};

// The moment a frame is drawn, on both clocks: the local wall clock stamps
// plain lines (it is the log's own time); the coordinator's, estimated from
// its serverTimeMs, places now in the window it timed.
struct RenderClock {
    std::int64_t local_ms = 0;
    std::int64_t coordinator_ms = 0;
};

// "[########------------]": `cells` cells between the brackets, the share
// `fraction` (clamped to 0..1) of them filled.
std::string progress_bar(double fraction, std::size_t cells);

// The phase and how far it is: "measure 4.2/10.0 s", "warmup 1.0/2.0 s",
// "warmup (auto, until steady) 3.1 s", "starting 0.4 s", "stop (window
// closed after 10.0 s)", "idle". `bar_cells` > 0 puts a bar after the phase
// of a warmup or window whose length is known. The phase name is the
// coordinator's, escaped.
std::string phase_progress(const LiveView& view, std::int64_t coordinator_ms, std::size_t bar_cells = 0);

// "server 38420 TPS | client 39990 TPS | p50 0.193 ms | p99 0.422 ms |
// errors 10": the server's rate from its last counter sample, the
// coordinator's last complete client second, that second's latency, and
// the epoch's errors so far ("-" for what is not known yet).
std::string numbers_text(const LiveView& view);

// One plain line, for output that is not a terminal:
// "2026-04-10T12:00:33.224Z epoch 3 measure 4.2/10.0 s | server ...".
std::string plain_line(const LiveView& view, const RenderClock& now);

// The lines of the terminal block (without escape sequences for the
// cursor; colours when term.color), each at most term.width - 1 columns.
std::vector<std::string> live_block(const LiveView& view, const RenderClock& now, const TerminalInfo& term);

// The generators' table: id, connections, TPS and p99 of the last complete
// second, errors so far, time since its last progress post. At most
// `max_rows` generators, then "... and N more".
std::vector<std::string> generator_table(const LiveView& view, std::int64_t coordinator_ms, std::size_t max_rows);

// The end of an epoch: "epoch 3 verdict: valid, 38420.19 TPS" (INVALID for
// an invalid one) and one "  - [code] message" line per reason.
std::vector<std::string> result_lines(const LiveView& view, const TerminalInfo& term);

// Redraws a block of lines in place: the cursor goes back up over the
// block drawn last, each line clears what was left of the old one, and
// whatever the old block had below the new one is cleared.
class BlockWriter {
public:
    std::string redraw(const std::vector<std::string>& lines);
    // The block stays as it is; the next redraw starts below the cursor
    // (something else was written after it: a prompt, a result).
    void detach() { drawn_ = 0; }
    std::size_t drawn() const { return drawn_; }

private:
    std::size_t drawn_ = 0;
};

// Decides what to write, and when, as a follower sees the live view over
// time: a new epoch starts a new block (a header line when not a
// terminal), once a second the block is redrawn (or one line written while
// an epoch runs), and an epoch's end is drawn once -- with its verdict
// and reasons when show_result (watch; start-epoch prints its result
// itself). The first view it sees sets what is old: an epoch already over
// then is not announced as ended.
class LivePresenter {
public:
    struct Options {
        TerminalInfo term;
        bool show_result = true;
    };
    explicit LivePresenter(Options options) : options_(options) {}

    // After an answer changed the view: what to write at once.
    std::string on_change(const LiveView& view, const RenderClock& now);
    // Once a second.
    std::string on_tick(const LiveView& view, const RenderClock& now);
    // Something else is about to be written (a prompt, a message): the next
    // block starts below it.
    void detach() { block_.detach(); }
    void set_terminal(const TerminalInfo& term) { options_.term = term; }
    const TerminalInfo& terminal() const { return options_.term; }

    // An epoch whose end was written: its verdict when the view had one
    // (empty when its result was never seen: the next epoch replaced the
    // live series first).
    struct Ended {
        std::uint64_t epoch = 0;
        std::string verdict;
    };
    // The epochs whose end was written since the last call, in order.
    std::vector<Ended> take_ended();

private:
    std::string draw(const LiveView& view, const RenderClock& now);

    Options options_;
    BlockWriter block_;
    bool seen_any_ = false;
    std::optional<std::uint64_t> epoch_;  // the epoch of the block or lines being written
    std::set<std::uint64_t> over_;        // epochs whose end is written (or was old)
    std::vector<Ended> ended_;
};

}  // namespace benchdist::control_tool
