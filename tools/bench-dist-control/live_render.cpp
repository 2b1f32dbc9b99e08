#include "live_render.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "benchdist/control/protocol.hpp"
#include "benchdist/text/printable.hpp"

namespace benchdist::control_tool {

namespace {

constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kCyan = "\x1b[36m";
constexpr const char* kReset = "\x1b[0m";

std::string format(const char* fmt, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, value);
    return buf;
}

std::string seconds_text(double s) { return format("%.1f", s); }
std::string ms_text(const std::optional<double>& us) { return us ? format("%.3f", *us / 1000.0) + " ms" : "-"; }
std::string tps_text(const std::optional<double>& tps) { return tps ? format("%.0f", *tps) + " TPS" : "-"; }

double elapsed_s(std::int64_t from_ms, std::int64_t to_ms) {
    return std::max<double>(0, double(to_ms - from_ms) / 1000.0);
}

// The phase word a line starts with: the coordinator's (escaped), or
// "done" for an epoch whose result is in.
// The phase as the user should read it: our coordinator keeps phase
// `starting` through the warmup after the start barrier (the original's
// final-revision generators load only in `starting` and `measure`), and
// says in `stage` that the barrier passed.
std::string shown_phase(const LiveView& view) {
    if (view.phase == "starting" && view.stage && *view.stage == "warmup") return "warmup";
    return view.phase;
}

std::string phase_word(const LiveView& view) {
    if (!view.running && view.epoch && view.result) return "done";
    const auto phase = shown_phase(view);
    return phase.empty() ? "-" : text::printable(phase);
}

const char* phase_colour(const LiveView& view) {
    if (!view.running && view.result) return view.result->verdict == "valid" ? kGreen : kRed;
    const auto phase = shown_phase(view);
    if (phase == "measure") return kGreen;
    if (phase == "warmup" || phase == "starting") return kYellow;
    if (phase == "stop") return kCyan;
    return nullptr;
}

std::string verdict_word(const std::string& verdict) {
    if (verdict == "valid") return "valid";
    if (verdict == "invalid") return "INVALID";
    return verdict.empty() ? "none" : text::printable(verdict);
}

// Cut to `width` columns (every character here is one column: printable
// ASCII only).
std::string fit(std::string line, std::size_t width) {
    if (line.size() > width) line.resize(width);
    return line;
}

// `line` with its bytes [at, at + n) in `colour`, when they survived the
// cut and colour is on.
std::string coloured(std::string line, std::size_t at, std::size_t n, const char* colour, bool on) {
    if (!on || !colour || at + n > line.size()) return line;
    return line.substr(0, at) + colour + line.substr(at, n) + kReset + line.substr(at + n);
}

std::string epoch_prefix(const LiveView& view, std::size_t label_max) {
    if (!view.epoch) return "";
    std::string prefix = "epoch " + std::to_string(*view.epoch) + " ";
    if (view.label && !view.label->empty()) {
        auto label = text::printable(*view.label);
        if (label.size() > label_max) label = label.substr(0, label_max - 3) + "...";
        prefix += "[" + label + "] ";
    }
    return prefix;
}

std::string idle_line(const LiveView& view) {
    std::string line = (view.phase.empty() ? "-" : text::printable(view.phase)) + ": waiting for an epoch";
    if (view.epoch) {
        line += " (last: epoch " + std::to_string(*view.epoch);
        if (view.result) line += ", verdict " + verdict_word(view.result->verdict);
        line += ")";
    }
    return line;
}

std::string pad_left(const std::string& s, std::size_t w) {
    return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}
std::string pad_right(const std::string& s, std::size_t w) {
    return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

}  // namespace

std::string progress_bar(double fraction, std::size_t cells) {
    fraction = fraction >= 0 ? std::min(fraction, 1.0) : 0.0;  // NaN too
    const auto filled = static_cast<std::size_t>(fraction * double(cells) + 1e-9);
    return "[" + std::string(filled, '#') + std::string(cells - filled, '-') + "]";
}

std::string phase_progress(const LiveView& view, std::int64_t coordinator_ms, std::size_t bar_cells) {
    const auto word = phase_word(view);
    const auto bar = [&](double done, double total) {
        // The bar shows what the figure after it says (a tenth of a second).
        done = std::round(std::min(done, total) * 10) / 10;
        std::string s = word + " ";
        if (bar_cells > 0 && total > 0) s += progress_bar(done / total, bar_cells) + " ";
        return s + seconds_text(done) + "/" + seconds_text(total) + " s";
    };
    if (!view.running) return word;
    const auto phase = shown_phase(view);
    if (phase == "starting")
        return view.started_at_ms ? word + " " + seconds_text(elapsed_s(*view.started_at_ms, coordinator_ms)) + " s"
                                  : word;
    if (phase == "warmup") {
        // From the start barrier's end; a coordinator that does not say when
        // that was: from the start's acceptance (the barrier counted in).
        const auto from = view.warmup_start_ms ? view.warmup_start_ms : view.started_at_ms;
        if (!from) return word;
        const double done = elapsed_s(*from, coordinator_ms);
        if (view.warmup_auto || view.warmup_seconds <= 0)
            return word + " (auto, until steady) " + seconds_text(done) + " s";
        return bar(done, view.warmup_seconds);
    }
    if (phase == "measure") {
        if (!view.window_start_ms || view.window_seconds <= 0) return word;
        return bar(elapsed_s(*view.window_start_ms, coordinator_ms), view.window_seconds);
    }
    if (phase == "stop") {
        std::string s = word + " (window closed";
        if (view.window_start_ms && view.window_end_ms)
            s += " after " + seconds_text(elapsed_s(*view.window_start_ms, *view.window_end_ms)) + " s";
        // What the runner is doing meanwhile: stopping the load, verifying.
        if (view.stage && *view.stage != "window" && *view.stage != "done") s += "; " + text::printable(*view.stage);
        return s + ")";
    }
    return word;
}

std::string numbers_text(const LiveView& view) {
    const auto* second = last_complete_second(view);
    return "server " + tps_text(view.totals.server_tps) + " | client " + tps_text(view.totals.client_tps) + " | p50 " +
           ms_text(second ? second->p50_us : std::nullopt) + " | p99 " +
           ms_text(second ? second->p99_us : std::nullopt) + " | errors " + std::to_string(view.totals.errors);
}

std::string plain_line(const LiveView& view, const RenderClock& now) {
    std::string line = control::iso8601_millis(now.local_ms) + " ";
    if (!view.running) return line + idle_line(view);
    return line + epoch_prefix(view, 64) + phase_progress(view, now.coordinator_ms) + " | " + numbers_text(view);
}

std::vector<std::string> generator_table(const LiveView& view, std::int64_t coordinator_ms, std::size_t max_rows) {
    const auto* second = last_complete_second(view);
    std::set<std::string> ids;
    for (const auto& [id, g] : view.generators) ids.insert(id);
    if (second)
        for (const auto& [id, g] : second->generators) ids.insert(id);
    if (ids.empty()) return {};
    constexpr std::size_t kMaxId = 24;
    std::size_t id_width = 9;  // "generator"
    for (const auto& id : ids) id_width = std::max(id_width, std::min(kMaxId, text::printable(id).size()));
    std::vector<std::string> rows;
    rows.push_back(pad_right("generator", id_width) + "  conns      TPS   p99 ms   errors  last progress");
    std::size_t shown = 0;
    for (const auto& id : ids) {
        if (shown == max_rows) {
            rows.push_back("... and " + std::to_string(ids.size() - shown) + " more");
            break;
        }
        ++shown;
        auto name = text::printable(id);
        if (name.size() > id_width) name = name.substr(0, id_width - 1) + "~";
        const auto g = view.generators.find(id);
        const LiveGenerator* gen = g == view.generators.end() ? nullptr : &g->second;
        const LiveGeneratorSecond* gs = nullptr;
        if (second) {
            const auto it = second->generators.find(id);
            if (it != second->generators.end()) gs = &it->second;
        }
        std::string progress = "-";
        if (gen && gen->last_progress_ms)
            progress = seconds_text(elapsed_s(*gen->last_progress_ms, coordinator_ms)) + " s ago";
        const auto ms = gs && gs->p99_us ? format("%.3f", *gs->p99_us / 1000.0) : "-";
        rows.push_back(pad_right(name, id_width) + "  " + pad_left(gen ? std::to_string(gen->connections) : "-", 5) +
                       "  " + pad_left(gs ? std::to_string(gs->committed) : "-", 7) + "  " + pad_left(ms, 7) + "  " +
                       pad_left(gen ? std::to_string(gen->errors) : "-", 7) + "  " + progress);
    }
    return rows;
}

std::vector<std::string> live_block(const LiveView& view, const RenderClock& now, const TerminalInfo& term) {
    const std::size_t width = std::max<std::size_t>(term.width, 20) - 1;
    std::vector<std::string> lines;
    if (!view.running && !view.result) {
        lines.push_back(fit(idle_line(view), width));
        return lines;
    }
    const auto prefix = epoch_prefix(view, std::max<std::size_t>(width / 3, 8));
    const std::size_t bar_cells = std::clamp<std::size_t>(width / 4, 10, 30);
    auto first = prefix + phase_progress(view, now.coordinator_ms, bar_cells);
    if (!view.running && view.result) {
        first += ": verdict " + verdict_word(view.result->verdict);
        if (view.result->tps) first += ", " + format("%.2f", *view.result->tps) + " TPS";
    }
    lines.push_back(
        coloured(fit(first, width), prefix.size(), phase_word(view).size(), phase_colour(view), term.color));
    lines.push_back(fit(numbers_text(view), width));
    // Room for the two lines above, the table's header and the cursor.
    const std::size_t rows = term.height > 5 ? term.height - 5 : 1;
    for (auto& row : generator_table(view, now.coordinator_ms, rows)) lines.push_back(fit(std::move(row), width));
    return lines;
}

std::vector<std::string> result_lines(const LiveView& view, const TerminalInfo& term) {
    if (!view.result) return {};
    const auto& r = *view.result;
    const auto word = verdict_word(r.verdict);
    std::string head = "epoch " + (view.epoch ? std::to_string(*view.epoch) : std::string("-")) + " verdict: ";
    const auto at = head.size();
    head += word;
    if (r.tps) head += ", " + format("%.2f", *r.tps) + " TPS";
    std::vector<std::string> lines{coloured(head, at, word.size(), r.verdict == "valid" ? kGreen : kRed, term.color)};
    for (const auto& reason : r.reasons)
        lines.push_back("  - [" + text::printable(reason.code) + "] " + text::printable(reason.message));
    return lines;
}

std::string BlockWriter::redraw(const std::vector<std::string>& lines) {
    std::string out;
    // After the last block's final newline the cursor is at the start of
    // the line below it: up by as many lines as it had.
    if (drawn_ > 0) out += "\x1b[" + std::to_string(drawn_) + "A";
    for (const auto& line : lines) out += line + "\x1b[K\n";
    out += "\x1b[J";
    drawn_ = lines.size();
    return out;
}

std::string LivePresenter::draw(const LiveView& view, const RenderClock& now) {
    return block_.redraw(live_block(view, now, options_.term));
}

std::string LivePresenter::on_change(const LiveView& view, const RenderClock& now) {
    const bool tty = options_.term.tty;
    std::string out;
    const bool first = !seen_any_;
    seen_any_ = true;
    if (first && !view.running && view.epoch) over_.insert(*view.epoch);  // over before we came
    if (first || view.epoch != epoch_) {
        if (epoch_ && !over_.count(*epoch_)) {
            // Its result was replaced by the next epoch's series before an
            // answer showed it.
            over_.insert(*epoch_);
            ended_.push_back({*epoch_, ""});
            block_.detach();
            const auto line = "epoch " + std::to_string(*epoch_) +
                              " ended; the next epoch started before its result was seen (bench-dist-control status "
                              "or the coordinator's results directory has it)";
            out += (tty ? "" : control::iso8601_millis(now.local_ms) + " ") + line + "\n";
        }
        epoch_ = view.epoch;
        if (view.running && view.epoch) {
            if (tty) {
                out += draw(view, now);
            } else {
                std::string head = control::iso8601_millis(now.local_ms) + " " + epoch_prefix(view, 256) +
                                   (first ? "running: " : "started: ");
                head += view.warmup_auto ? "warmup auto" : "warmup " + seconds_text(view.warmup_seconds) + " s";
                head += ", window " + seconds_text(view.window_seconds) + " s, ";
                head +=
                    std::to_string(view.generators.size()) + " generator" + (view.generators.size() == 1 ? "" : "s");
                out += head + "\n";
            }
        } else if (first) {
            out += tty ? block_.redraw({fit(idle_line(view), std::max<std::size_t>(options_.term.width, 20) - 1)})
                       : plain_line(view, now) + "\n";
        }
    }
    if (view.epoch && !view.running && view.result && !over_.count(*view.epoch)) {
        over_.insert(*view.epoch);
        ended_.push_back({*view.epoch, view.result->verdict});
        if (tty) {
            out += draw(view, now);
        } else {
            out += control::iso8601_millis(now.local_ms) + " " + epoch_prefix(view, 64) + "done\n";
        }
        block_.detach();
        if (options_.show_result) {
            auto term = options_.term;
            term.color = term.color && tty;
            const auto lines = result_lines(view, term);
            for (std::size_t i = 0; i < lines.size(); ++i)
                out += (!tty && i == 0 ? control::iso8601_millis(now.local_ms) + " " : "") + lines[i] + "\n";
        }
    }
    return out;
}

std::string LivePresenter::on_tick(const LiveView& view, const RenderClock& now) {
    if (!seen_any_) return "";
    if (view.running) return options_.term.tty ? draw(view, now) : plain_line(view, now) + "\n";
    if (options_.term.tty)
        return block_.redraw({fit(idle_line(view), std::max<std::size_t>(options_.term.width, 20) - 1)});
    return "";
}

std::vector<LivePresenter::Ended> LivePresenter::take_ended() { return std::exchange(ended_, {}); }

}  // namespace benchdist::control_tool
