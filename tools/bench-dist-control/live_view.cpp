#include "live_view.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <string_view>

namespace benchdist::control_tool {

namespace bc = benchdist::control;

namespace {

// One JSON object being read, with its path for error messages.
class Reader {
public:
    Reader(const bc::Json& j, std::string path) : j_(j), path_(std::move(path)) {
        // The path ends with the "." its keys follow.
        if (!j_.is_object()) fail(path_.empty() ? "the answer" : path_.substr(0, path_.size() - 1), "an object");
    }

    const bc::Json* find(const char* key) const {
        const auto it = j_.find(key);
        return it == j_.end() ? nullptr : &*it;
    }
    // Present and not null.
    const bc::Json* value(const char* key) const {
        const auto* v = find(key);
        return v && !v->is_null() ? v : nullptr;
    }
    std::string where(const char* key) const { return path_ + "\"" + key + "\""; }

    [[noreturn]] static void fail(const std::string& where, const char* expected) {
        throw LiveFormatError("/admin/live answer: " + where + " must be " + expected);
    }

    std::optional<std::uint64_t> count(const char* key) const {
        const auto* v = value(key);
        if (!v) return std::nullopt;
        if (v->is_number_unsigned()) return v->get<std::uint64_t>();
        if (v->is_number_integer() && v->get<std::int64_t>() >= 0) return v->get<std::uint64_t>();
        fail(where(key), "a non-negative integer or null");
    }
    std::optional<std::int64_t> millis(const char* key) const {
        const auto* v = value(key);
        if (!v) return std::nullopt;
        if (v->is_number_unsigned() &&
            v->get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<std::int64_t>::max()))
            return v->get<std::int64_t>();
        if (v->is_number_integer()) return v->get<std::int64_t>();
        // A coordinator may write a time as a whole double (JSON numbers are
        // doubles to JavaScript); a fraction of a millisecond is dropped.
        if (v->is_number_float() && std::abs(v->get<double>()) < 9.0e15) return std::int64_t(v->get<double>());
        fail(where(key), "an integer (unix milliseconds) or null");
    }
    std::optional<double> number(const char* key) const {
        const auto* v = value(key);
        if (!v) return std::nullopt;
        if (!v->is_number()) fail(where(key), "a number or null");
        return v->get<double>();
    }
    std::optional<bool> boolean(const char* key) const {
        const auto* v = value(key);
        if (!v) return std::nullopt;
        if (!v->is_boolean()) fail(where(key), "true or false");
        return v->get<bool>();
    }
    std::optional<std::string> string(const char* key) const {
        const auto* v = value(key);
        if (!v) return std::nullopt;
        if (!v->is_string()) fail(where(key), "a string or null");
        return v->get<std::string>();
    }
    // An object's entries, or none.
    const bc::Json* object(const char* key) const {
        const auto* v = value(key);
        if (v && !v->is_object()) fail(where(key), "an object or null");
        return v;
    }
    const bc::Json* array(const char* key) const {
        const auto* v = value(key);
        if (v && !v->is_array()) fail(where(key), "an array or null");
        return v;
    }

private:
    const bc::Json& j_;
    std::string path_;
};

std::string index_path(const std::string& parent, const char* key, std::size_t i) {
    return parent + "\"" + key + "\"[" + std::to_string(i) + "].";
}
std::string member_path(const std::string& parent, const char* key, const std::string& member) {
    // The member name comes from the coordinator: shown as JSON would quote it.
    return parent + "\"" + key + "\"." + bc::Json(member).dump(-1, ' ', false, bc::Json::error_handler_t::replace) +
           ".";
}

LiveErrors parse_errors(const bc::Json& j, const std::string& path) {
    const Reader r(j, path);
    LiveErrors e;
    e.module_errors = r.count("moduleErrors").value_or(0);
    e.internal_errors = r.count("internalErrors").value_or(0);
    e.timeouts = r.count("timeouts").value_or(0);
    e.disconnects = r.count("disconnects").value_or(0);
    e.total = r.count("total").value_or(e.module_errors + e.internal_errors + e.timeouts + e.disconnects);
    return e;
}

LiveSecond parse_second(const bc::Json& j, const std::string& path) {
    const Reader r(j, path);
    LiveSecond s;
    const auto t = r.millis("t");
    if (!t) Reader::fail(r.where("t"), "an integer (unix milliseconds)");
    s.t = *t;
    s.attempted = r.count("attempted").value_or(0);
    s.committed = r.count("committed").value_or(0);
    s.tps = r.number("tps");
    if (const auto* errors = r.value("errors")) {
        // Older shapes may give only a total.
        if (errors->is_number())
            s.errors.total = r.count("errors").value_or(0);
        else
            s.errors = parse_errors(*errors, path + "\"errors\".");
    }
    s.p50_us = r.number("p50");
    s.p99_us = r.number("p99");
    s.max_us = r.number("max");
    if (const auto* gens = r.object("generators")) {
        for (const auto& [id, g] : gens->items()) {
            const Reader gr(g, member_path(path, "generators", id));
            LiveGeneratorSecond gs;
            gs.committed = gr.count("committed").value_or(0);
            gs.errors = gr.count("errors").value_or(0);
            gs.p50_us = gr.number("p50");
            gs.p99_us = gr.number("p99");
            s.generators.emplace(id, gs);
        }
    }
    return s;
}

LiveServerSample parse_server_sample(const bc::Json& j, const std::string& path) {
    const Reader r(j, path);
    LiveServerSample s;
    const auto at = r.millis("atMs");
    if (!at) Reader::fail(r.where("atMs"), "an integer (unix milliseconds)");
    s.at_ms = *at;
    s.committed = r.count("committed").value_or(0);
    s.tps = r.number("tps");
    s.in_window = r.boolean("inWindow").value_or(false);
    return s;
}

LiveResult parse_result(const bc::Json& j) {
    const Reader r(j, "\"result\".");
    LiveResult result;
    result.verdict = r.string("verdict").value_or("");
    result.tps = r.number("tps");
    if (const auto* reasons = r.array("reasons")) {
        for (std::size_t i = 0; i < reasons->size(); ++i) {
            const Reader rr((*reasons)[i], index_path("\"result\".", "reasons", i));
            result.reasons.push_back({rr.string("code").value_or(""), rr.string("message").value_or("")});
        }
    }
    return result;
}

template <typename T, typename Key>
void sort_unique_by(std::vector<T>& v, Key key) {
    // Stable, then the last of equal keys kept: an answer that repeats an
    // entry means its latest state.
    std::stable_sort(v.begin(), v.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
    std::vector<T> out;
    out.reserve(v.size());
    for (auto& x : v) {
        if (!out.empty() && key(out.back()) == key(x))
            out.back() = std::move(x);
        else
            out.push_back(std::move(x));
    }
    v = std::move(out);
}

template <typename T, typename Key>
void merge_by(std::vector<T>& known, std::vector<T> changed, Key key) {
    for (auto& x : changed) known.push_back(std::move(x));
    sort_unique_by(known, key);
    // The coordinator drops the oldest past this bound; so does the copy here.
    if (known.size() > kMaxLiveEntries) known.erase(known.begin(), known.end() - kMaxLiveEntries);
}

const auto second_key = [](const LiveSecond& s) { return s.t; };
const auto sample_key = [](const LiveServerSample& s) { return s.at_ms; };

}  // namespace

LiveView parse_live(const bc::Json& j) {
    const Reader r(j, "");
    LiveView v;
    const auto version = r.count("version");
    if (!version) Reader::fail(r.where("version"), "a non-negative integer");
    v.version = *version;
    v.full = r.boolean("full").value_or(true);
    v.epoch = r.count("epoch");
    v.label = r.string("label");
    v.phase = r.string("phase").value_or("idle");
    v.running = r.boolean("running").value_or(false);
    v.stage = r.string("stage");
    v.started_at_ms = r.millis("startedAtMs");
    v.warmup_start_ms = r.millis("warmupStartMs");
    v.warmup_seconds = r.number("warmupSeconds").value_or(0);
    v.warmup_auto = r.boolean("warmupAuto").value_or(false);
    v.window_seconds = r.number("windowSeconds").value_or(0);
    v.window_start_ms = r.millis("windowStartMs");
    v.window_end_ms = r.millis("windowEndMs");
    v.finished_at_ms = r.millis("finishedAtMs");
    v.server_time_ms = r.millis("serverTimeMs");
    if (const auto* seconds = r.array("seconds")) {
        for (std::size_t i = 0; i < seconds->size(); ++i)
            v.seconds.push_back(parse_second((*seconds)[i], index_path("", "seconds", i)));
    }
    sort_unique_by(v.seconds, second_key);
    if (const auto* server = r.array("server")) {
        for (std::size_t i = 0; i < server->size(); ++i)
            v.server.push_back(parse_server_sample((*server)[i], index_path("", "server", i)));
    }
    sort_unique_by(v.server, sample_key);
    if (const auto* gens = r.object("generators")) {
        for (const auto& [id, g] : gens->items()) {
            const Reader gr(g, member_path("", "generators", id));
            LiveGenerator lg;
            lg.connections = gr.count("connections").value_or(0);
            lg.last_progress_ms = gr.millis("lastProgressMs");
            lg.committed = gr.count("committed").value_or(0);
            lg.errors = gr.count("errors").value_or(0);
            v.generators.emplace(id, lg);
        }
    }
    if (const auto* totals = r.object("totals")) {
        const Reader tr(*totals, "\"totals\".");
        v.totals.committed = tr.count("committed").value_or(0);
        v.totals.errors = tr.count("errors").value_or(0);
        v.totals.p50_us = tr.number("p50");
        v.totals.p99_us = tr.number("p99");
        v.totals.max_us = tr.number("max");
        v.totals.client_tps = tr.number("clientTps");
        v.totals.server_tps = tr.number("serverTps");
    }
    if (const auto* result = r.object("result")) v.result = parse_result(*result);
    return v;
}

void apply_live(LiveView& known, LiveView answer) {
    if (answer.full || answer.epoch != known.epoch) {
        known = std::move(answer);
        return;
    }
    auto seconds = std::move(known.seconds);
    auto server = std::move(known.server);
    merge_by(seconds, std::move(answer.seconds), second_key);
    merge_by(server, std::move(answer.server), sample_key);
    known = std::move(answer);
    known.seconds = std::move(seconds);
    known.server = std::move(server);
}

const LiveSecond* last_complete_second(const LiveView& view) {
    std::map<std::string_view, std::int64_t> newest;  // each generator's newest second
    for (const auto& s : view.seconds)
        for (const auto& [id, g] : s.generators) newest[id] = s.t;  // sorted by t: the last one wins
    if (newest.empty()) return view.seconds.size() < 2 ? nullptr : &view.seconds[view.seconds.size() - 2];
    std::int64_t complete_before = newest.begin()->second;
    for (const auto& [id, t] : newest) complete_before = std::min(complete_before, t);
    const auto it = std::lower_bound(view.seconds.begin(), view.seconds.end(), complete_before,
                                     [](const LiveSecond& s, std::int64_t t) { return s.t < t; });
    return it == view.seconds.begin() ? nullptr : &*std::prev(it);
}

}  // namespace benchdist::control_tool
