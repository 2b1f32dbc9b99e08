// What watch and start-epoch write while they follow an epoch
// (live_render.hpp), frame by frame: the progress of each phase on the
// coordinator's clock, the numbers line, the plain lines for a pipe, the
// block redrawn on a terminal within its width, the generators' table,
// the verdict, and hostile text from the coordinator escaped everywhere.
#include "live_render.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "../../support/terminal_escapes.hpp"
#include "terminal.hpp"

namespace bc = benchdist::control;
using namespace benchdist::control_tool;

namespace {

constexpr std::int64_t kWindowStart = 1796622222500;
constexpr std::int64_t kLocal = 1796622226712;  // 2026-12-07T05:43:46.712Z

// An epoch 4.2 s into its 10 s window, two generators, three seconds of
// which the newest is still being filled.
bc::Json measuring() {
    return bc::Json::parse(R"({
      "version": 57, "full": true, "epoch": 3, "label": "nightly", "phase": "measure", "running": true,
      "startedAtMs": 1796622220000, "warmupSeconds": 2.0, "warmupAuto": false, "windowSeconds": 10.0,
      "windowStartMs": 1796622222500,
      "seconds": [
        {"t": 1796622225000, "committed": 39000, "tps": 39000.0, "p50": 180, "p99": 400,
         "generators": {"gen-a": {"committed": 19000, "errors": 0, "p99": 400},
                        "gen-b": {"committed": 20000, "errors": 0, "p99": 401}}},
        {"t": 1796622226000, "committed": 39990, "tps": 39990.0, "p50": 193, "p99": 422,
         "generators": {"gen-a": {"committed": 20000, "errors": 5, "p50": 190, "p99": 420},
                        "gen-b": {"committed": 19990, "errors": 5, "p50": 195, "p99": 424}}},
        {"t": 1796622227000, "committed": 1200, "tps": 1200.0, "p50": 150, "p99": 300,
         "generators": {"gen-a": {"committed": 1200, "errors": 0}, "gen-b": {"committed": 0, "errors": 0}}}
      ],
      "server": [{"atMs": 1796622226100, "committed": 471707, "tps": 38420.2, "inWindow": true}],
      "generators": {"gen-a": {"connections": 8, "lastProgressMs": 1796622226400, "committed": 120000, "errors": 5},
                     "gen-b": {"connections": 8, "lastProgressMs": 1796622225900, "committed": 119990, "errors": 5}},
      "totals": {"committed": 239990, "errors": 10, "p50": 193, "p99": 422, "max": 4610,
                 "clientTps": 39990.0, "serverTps": 38420.2}
    })");
}

LiveView view_of(const bc::Json& j) { return parse_live(j); }

LiveView finished(const std::string& verdict) {
    auto j = measuring();
    j["running"] = false;
    j["phase"] = "idle";
    j["windowEndMs"] = kWindowStart + 10000;
    j["result"] = {{"verdict", verdict},
                   {"tps", 38420.19},
                   {"reasons", verdict == "valid" ? bc::Json::array() : bc::Json::parse(R"([{"code": "error_ratio",
                                                                          "message": "10 errors"}])")}};
    return view_of(j);
}

const RenderClock kNow{kLocal, kWindowStart + 4200};
const TerminalInfo kTty{.tty = true, .color = false, .width = 100, .height = 24};
const TerminalInfo kPipe{.tty = false, .color = false, .width = 80, .height = 24};

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

using benchdist::testing::only_our_escapes;

}  // namespace

TEST(LiveRender, ProgressBar) {
    EXPECT_EQ(progress_bar(0, 10), "[----------]");
    EXPECT_EQ(progress_bar(0.42, 10), "[####------]");
    EXPECT_EQ(progress_bar(1, 10), "[##########]");
    EXPECT_EQ(progress_bar(7, 4), "[####]");
    EXPECT_EQ(progress_bar(-1, 4), "[----]");
    EXPECT_EQ(progress_bar(std::nan(""), 4), "[----]");
}

// The window's progress is read on the coordinator's clock (it timed the
// window), clamped to the window.
TEST(LiveRender, PhaseProgressOfEachPhase) {
    auto v = view_of(measuring());
    EXPECT_EQ(phase_progress(v, kWindowStart + 4200), "measure 4.2/10.0 s");
    EXPECT_EQ(phase_progress(v, kWindowStart + 4200, 10), "measure [####------] 4.2/10.0 s");
    EXPECT_EQ(phase_progress(v, kWindowStart + 12000, 4), "measure [####] 10.0/10.0 s");
    EXPECT_EQ(phase_progress(v, kWindowStart - 300, 4), "measure [----] 0.0/10.0 s");
    v.window_start_ms.reset();
    EXPECT_EQ(phase_progress(v, kWindowStart), "measure");

    v.phase = "warmup";
    EXPECT_EQ(phase_progress(v, *v.started_at_ms + 1000, 4), "warmup [##--] 1.0/2.0 s");
    // From the barrier's end, when the coordinator says when that was.
    v.warmup_start_ms = *v.started_at_ms + 500;
    EXPECT_EQ(phase_progress(v, *v.started_at_ms + 1000, 4), "warmup [#---] 0.5/2.0 s");
    // Ours stays in phase starting through the warmup; its stage tells.
    v.phase = "starting";
    v.stage = "warmup";
    EXPECT_EQ(phase_progress(v, *v.started_at_ms + 1000, 4), "warmup [#---] 0.5/2.0 s");
    v.stage = "barrier";
    EXPECT_EQ(phase_progress(v, *v.started_at_ms + 1000, 4), "starting 1.0 s");
    v.phase = "warmup";
    v.stage.reset();
    v.warmup_start_ms.reset();
    v.warmup_auto = true;
    EXPECT_EQ(phase_progress(v, *v.started_at_ms + 3100, 4), "warmup (auto, until steady) 3.1 s");
    v.phase = "starting";
    EXPECT_EQ(phase_progress(v, *v.started_at_ms + 400), "starting 0.4 s");
    v.phase = "stop";
    EXPECT_EQ(phase_progress(v, 0), "stop (window closed)");
    v.window_start_ms = kWindowStart;
    v.window_end_ms = kWindowStart + 10020;
    EXPECT_EQ(phase_progress(v, 0), "stop (window closed after 10.0 s)");
    v.stage = "verifying";
    EXPECT_EQ(phase_progress(v, 0), "stop (window closed after 10.0 s; verifying)");
    v.stage = "stop\x1b[2J";
    EXPECT_EQ(phase_progress(v, 0), "stop (window closed after 10.0 s; stop\\x1B[2J)");

    EXPECT_EQ(phase_progress(finished("valid"), 0), "done");
    EXPECT_EQ(phase_progress(view_of(bc::Json::parse(R"({"version": 1})")), 0), "idle");
}

TEST(LiveRender, TheNumbersLine) {
    // p50 and p99 of the last complete second (the newest is still filling).
    EXPECT_EQ(numbers_text(view_of(measuring())),
              "server 38420 TPS | client 39990 TPS | p50 0.193 ms | p99 0.422 ms | errors 10");
    EXPECT_EQ(numbers_text(view_of(bc::Json::parse(R"({"version": 1, "running": true})"))),
              "server - | client - | p50 - | p99 - | errors 0");
}

TEST(LiveRender, APlainLineIsTimestampedOnTheLocalClock) {
    EXPECT_EQ(plain_line(view_of(measuring()), kNow),
              "2026-12-07T05:43:46.712Z epoch 3 [nightly] measure 4.2/10.0 s | server 38420 TPS | client 39990 TPS | "
              "p50 0.193 ms | p99 0.422 ms | errors 10");
    EXPECT_EQ(plain_line(finished("valid"), kNow),
              "2026-12-07T05:43:46.712Z idle: waiting for an epoch (last: epoch 3, verdict valid)");
    EXPECT_EQ(plain_line(view_of(bc::Json::parse(R"({"version": 1})")), kNow),
              "2026-12-07T05:43:46.712Z idle: waiting for an epoch");
}

TEST(LiveRender, TheGeneratorsTable) {
    const auto rows = generator_table(view_of(measuring()), kWindowStart + 4200, 10);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0], "generator  conns      TPS   p99 ms   errors  last progress");
    EXPECT_EQ(rows[1], "gen-a          8    20000    0.420        5  0.3 s ago");
    EXPECT_EQ(rows[2], "gen-b          8    19990    0.424        5  0.8 s ago");
    const auto cut = generator_table(view_of(measuring()), kWindowStart + 4200, 1);
    ASSERT_EQ(cut.size(), 3u);
    EXPECT_EQ(cut[2], "... and 1 more");
    EXPECT_TRUE(generator_table(view_of(bc::Json::parse(R"({"version": 1})")), 0, 10).empty());
}

TEST(LiveRender, TheTerminalBlock) {
    const auto lines = live_block(view_of(measuring()), kNow, kTty);
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[0], "epoch 3 [nightly] measure [##########--------------] 4.2/10.0 s");
    EXPECT_EQ(lines[1], "server 38420 TPS | client 39990 TPS | p50 0.193 ms | p99 0.422 ms | errors 10");
    EXPECT_EQ(lines[2].rfind("generator", 0), 0u);
    const auto done = live_block(finished("valid"), kNow, kTty);
    EXPECT_EQ(done[0], "epoch 3 [nightly] done: verdict valid, 38420.19 TPS");
    EXPECT_EQ(live_block(finished("invalid"), kNow, kTty)[0], "epoch 3 [nightly] done: verdict INVALID, 38420.19 TPS");
    EXPECT_EQ(live_block(view_of(bc::Json::parse(R"({"version": 1})")), kNow, kTty),
              std::vector<std::string>{"idle: waiting for an epoch"});
}

// Never wider than the terminal (a wrapped line would put the redraw off),
// never taller, colours only when asked.
TEST(LiveRender, TheBlockFitsTheTerminal) {
    auto j = measuring();
    j["label"] = std::string(300, 'l');
    for (int i = 0; i < 40; ++i)
        j["generators"]["generator-with-a-long-name-" + std::to_string(i)] = {{"connections", 1}};
    for (const std::size_t width : {20u, 40u, 80u}) {
        const TerminalInfo term{.tty = true, .color = false, .width = width, .height = 12};
        const auto lines = live_block(view_of(j), kNow, term);
        EXPECT_LE(lines.size(), 11u);
        for (const auto& line : lines) EXPECT_LT(line.size(), width) << line;
        EXPECT_EQ(lines.back().rfind("... and ", 0), 0u) << lines.back();
    }
    const TerminalInfo coloured{.tty = true, .color = true, .width = 100, .height = 24};
    EXPECT_EQ(live_block(view_of(measuring()), kNow, coloured)[0],
              "epoch 3 [nightly] \x1b[32mmeasure\x1b[0m [##########--------------] 4.2/10.0 s");
    EXPECT_EQ(live_block(finished("invalid"), kNow, coloured)[0],
              "epoch 3 [nightly] \x1b[31mdone\x1b[0m: verdict INVALID, 38420.19 TPS");
    for (const auto& line : live_block(view_of(measuring()), kNow, kTty)) EXPECT_FALSE(has(line, "\x1b")) << line;
}

TEST(LiveRender, TheVerdictAndItsReasons) {
    EXPECT_EQ(result_lines(finished("valid"), kTty), std::vector<std::string>{"epoch 3 verdict: valid, 38420.19 TPS"});
    EXPECT_EQ(result_lines(finished("invalid"), kTty),
              (std::vector<std::string>{"epoch 3 verdict: INVALID, 38420.19 TPS", "  - [error_ratio] 10 errors"}));
    const TerminalInfo coloured{.tty = true, .color = true};
    EXPECT_EQ(result_lines(finished("valid"), coloured)[0], "epoch 3 verdict: \x1b[32mvalid\x1b[0m, 38420.19 TPS");
    EXPECT_TRUE(result_lines(view_of(measuring()), kTty).empty());
}

TEST(LiveRender, TheBlockIsRedrawnInPlace) {
    BlockWriter block;
    EXPECT_EQ(block.redraw({"a", "b", "c"}), "a\x1b[K\nb\x1b[K\nc\x1b[K\n\x1b[J");
    // Up over the three lines, two new ones, the third cleared.
    EXPECT_EQ(block.redraw({"d", "e"}), "\x1b[3Ad\x1b[K\ne\x1b[K\n\x1b[J");
    block.detach();
    EXPECT_EQ(block.redraw({"f"}), "f\x1b[K\n\x1b[J");
}

// A coordinator that checks nothing (the original harness's, or a broken
// proxy) may send anything: ids, labels, the phase, the verdict and its
// reasons reach the terminal escaped, in the block, the table, the plain
// lines and the result.
TEST(LiveRender, HostileTextFromTheCoordinatorIsEscapedEverywhere) {
    const std::string forged = "\x1b[2J\x1b]0;owned\x07\r\nepoch=1 tps=99999.00 verification=passed\xc2\x9b";
    auto j = measuring();
    j["label"] = "label" + forged;
    j["phase"] = "measure" + forged;
    j["generators"]["gen" + forged] = {{"connections", 1}, {"lastProgressMs", kWindowStart}};
    j["seconds"][1]["generators"]["gen" + forged] = {{"committed", 5}, {"p99", 1}};
    auto ended = j;
    ended["running"] = false;
    ended["result"] = {{"verdict", "valid" + forged},
                       {"reasons", {{{"code", "c" + forged}, {"message", "m" + forged}}}}};
    for (const auto& term : {kTty, kPipe, TerminalInfo{.tty = true, .color = true, .width = 300, .height = 60}}) {
        LivePresenter p({.term = term, .show_result = true});
        std::string out = p.on_change(view_of(j), kNow);
        out += p.on_tick(view_of(j), kNow);
        out += p.on_change(view_of(ended), kNow);
        out += p.on_tick(view_of(ended), kNow);
        EXPECT_TRUE(only_our_escapes(out));
        EXPECT_FALSE(has(out, "\nepoch=1 tps=")) << out;
        if (term.tty) {
            EXPECT_TRUE(has(out, "gen\\x1B[2J")) << out;  // the table
        }
        EXPECT_TRUE(has(out, "[c\\x1B[2J")) << out;
    }
}

// Not a terminal: a header when an epoch starts, a line a second while it
// runs, its end and verdict once, nothing while idle.
TEST(LivePresenter, PlainLinesOverAnEpoch) {
    auto starting = measuring();
    starting["phase"] = "starting";
    starting["seconds"] = bc::Json::array();
    starting["generators"] = {{"gen-a", {{"connections", 8}}}, {"gen-b", {{"connections", 8}}}};
    LivePresenter p({.term = kPipe, .show_result = true});
    EXPECT_EQ(p.on_change(view_of(bc::Json::parse(R"({"version": 1, "epoch": 2, "phase": "idle",
                                                      "result": {"verdict": "valid"}})")),
                          kNow),
              "2026-12-07T05:43:46.712Z idle: waiting for an epoch (last: epoch 2, verdict valid)\n");
    EXPECT_EQ(p.on_tick(view_of(bc::Json::parse(R"({"version": 1, "epoch": 2})")), kNow), "");
    EXPECT_TRUE(p.take_ended().empty()) << "an epoch over before we looked is not announced";
    EXPECT_EQ(p.on_change(view_of(starting), kNow),
              "2026-12-07T05:43:46.712Z epoch 3 [nightly] started: warmup 2.0 s, window 10.0 s, 2 generators\n");
    EXPECT_EQ(p.on_change(view_of(measuring()), kNow), "");
    EXPECT_EQ(p.on_tick(view_of(measuring()), kNow), plain_line(view_of(measuring()), kNow) + "\n");
    EXPECT_EQ(p.on_change(finished("invalid"), kNow),
              "2026-12-07T05:43:46.712Z epoch 3 [nightly] done\n"
              "2026-12-07T05:43:46.712Z epoch 3 verdict: INVALID, 38420.19 TPS\n"
              "  - [error_ratio] 10 errors\n");
    EXPECT_EQ(p.on_change(finished("invalid"), kNow), "") << "the end is written once";
    EXPECT_EQ(p.on_tick(finished("invalid"), kNow), "");
    const auto ended = p.take_ended();
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].epoch, 3u);
    EXPECT_EQ(ended[0].verdict, "invalid");
}

// start-epoch prints the result itself: the live view ends with "done".
TEST(LivePresenter, WithoutTheResult) {
    LivePresenter p({.term = kPipe, .show_result = false});
    p.on_change(view_of(measuring()), kNow);
    EXPECT_EQ(p.on_change(finished("valid"), kNow), "2026-12-07T05:43:46.712Z epoch 3 [nightly] done\n");
}

// A next epoch replaced the series before an answer showed the last one's
// result: said, and counted as ended with no verdict.
TEST(LivePresenter, AnEpochWhoseResultWasNeverSeen) {
    LivePresenter p({.term = kPipe, .show_result = true});
    p.on_change(view_of(measuring()), kNow);
    auto next = measuring();
    next["epoch"] = 4;
    const auto out = p.on_change(view_of(next), kNow);
    EXPECT_TRUE(has(out, "epoch 3 ended; the next epoch started before its result was seen")) << out;
    EXPECT_TRUE(has(out, "epoch 4 [nightly] started:")) << out;
    const auto ended = p.take_ended();
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].epoch, 3u);
    EXPECT_EQ(ended[0].verdict, "");
}

// A terminal: the block drawn, redrawn in place each second, left as it is
// at the end with the verdict below it, then an idle line that the next
// epoch's block replaces.
TEST(LivePresenter, ABlockRedrawnInPlaceOverAnEpoch) {
    LivePresenter p({.term = kTty, .show_result = true});
    const auto first = p.on_change(view_of(measuring()), kNow);
    EXPECT_EQ(first.find("\x1b[5A"), std::string::npos) << "nothing to go up over yet";
    EXPECT_TRUE(has(first, "epoch 3 [nightly] measure [")) << first;
    const auto tick = p.on_tick(view_of(measuring()), kNow);
    EXPECT_EQ(tick.rfind("\x1b[5A", 0), 0u) << tick;
    const auto end = p.on_change(finished("valid"), kNow);
    EXPECT_EQ(end.rfind("\x1b[5A", 0), 0u) << end;
    EXPECT_TRUE(has(end, "done: verdict valid")) << end;
    EXPECT_TRUE(has(end, "\x1b[K\n\x1b[Jepoch 3 verdict: valid, 38420.19 TPS\n")) << end;
    // Below the verdict: a fresh one-line block.
    const auto idle = p.on_tick(finished("valid"), kNow);
    EXPECT_EQ(idle, "idle: waiting for an epoch (last: epoch 3, verdict valid)\x1b[K\n\x1b[J");
    auto next = measuring();
    next["epoch"] = 4;
    const auto again = p.on_change(view_of(next), kNow);
    EXPECT_EQ(again.rfind("\x1b[1Aepoch 4 [nightly] measure", 0), 0u) << again;
}

TEST(TerminalFacts, WhatTheEnvironmentSays) {
    const auto xterm =
        terminal_info_from({.is_tty = true, .term = "xterm-256color", .window_columns = 132, .window_rows = 50});
    EXPECT_TRUE(xterm.tty);
    EXPECT_TRUE(xterm.color);
    EXPECT_EQ(xterm.width, 132u);
    EXPECT_EQ(xterm.height, 50u);
    EXPECT_FALSE(terminal_info_from({.is_tty = true, .term = "xterm", .no_color = "1"}).color);
    EXPECT_TRUE(terminal_info_from({.is_tty = true, .term = "xterm", .no_color = ""}).color);
    // TERM=dumb cannot move the cursor: plain lines.
    EXPECT_FALSE(terminal_info_from({.is_tty = true, .term = "dumb"}).tty);
    EXPECT_FALSE(terminal_info_from({.is_tty = true, .term = nullptr}).tty);
    const auto pipe = terminal_info_from({.is_tty = false, .term = "xterm", .columns = "120"});
    EXPECT_FALSE(pipe.tty);
    EXPECT_FALSE(pipe.color);
    EXPECT_EQ(pipe.width, 120u);
    EXPECT_EQ(terminal_info_from({.columns = "wide"}).width, 80u);
}
