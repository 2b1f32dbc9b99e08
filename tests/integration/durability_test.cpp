// Results are never lost (issue 6, item 5): real processes on 127.0.0.1 --
// stdb-standin, a coordinator writing to a results directory, one generator --
// and the coordinator SIGKILLed between epochs, in the middle of a measurement
// window and in the gap between the fsynced temporary file and its link into
// place. Every time, every result finished before the kill must still be on
// disk, whole and equal to what the coordinator reported, index.jsonl must
// hold exactly one complete line per finished result, and a coordinator
// restarted on the same directory must add to it without replacing anything.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "benchdist/control/protocol.hpp"
#include "benchdist/coordinator/result_store.hpp"
#include "rig.hpp"

namespace fs = std::filesystem;
namespace bc = benchdist::control;
using benchdist::coordinator::ResultStore;
using namespace benchdist::testing;
using namespace std::chrono_literals;

namespace {

// What a crash left in the results directory, split the way a reader must
// split it: results are the *.json files, temporary files are hidden.
struct DirContents {
    std::map<std::string, std::string> results;  // file name -> content
    std::vector<std::string> temporaries;
    std::vector<std::string> others;
};

DirContents list_results(const fs::path& dir) {
    DirContents c;
    for (const auto& e : fs::directory_iterator(dir)) {
        const auto name = e.path().filename().string();
        if (ResultStore::is_temporary(name)) {
            c.temporaries.push_back(name);
        } else if (e.path().extension() == ".json") {
            c.results[name] = read_file(e.path());
        } else if (name != "index.jsonl") {
            c.others.push_back(name);
        }
    }
    return c;
}

// index.jsonl as a tolerant reader sees it: complete lines that parse, and
// a count of the ones that do not (a torn last line after a power loss).
struct Index {
    std::vector<bc::Json> lines;
    std::size_t unreadable = 0;
    bool ends_with_newline = true;
};

Index read_index(const fs::path& dir) {
    Index index;
    const auto text = read_file(dir / "index.jsonl");
    index.ends_with_newline = text.empty() || text.back() == '\n';
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        try {
            index.lines.push_back(bc::Json::parse(line));
        } catch (const bc::Json::exception&) {
            ++index.unreadable;
        }
    }
    return index;
}

// One seeded stand-in for the whole test; coordinators come and go on the
// same results directory, each with one fresh generator (2 connections).
class DurableCluster : public benchdist::testing::Rig {
public:
    DurableCluster()
        : Rig({.tag = "durability",
               .coordinator_args = std::nullopt,
               .call_timeout = 20s,
               .generator = {.concurrency = 2, .pairs = 2000}}) {}

    fs::path results() const { return results_dir(); }
    Subprocess& coordinator() { return Rig::coordinator().process(); }

    // A fresh coordinator on the same results directory with one fresh
    // generator, ready for an epoch.
    void start(double window_seconds, std::map<std::string, std::string> env = {}) {
        start_coordinator({"--window-seconds", std::to_string(window_seconds), "--start-ack-timeout-seconds", "10",
                           "--stop-ack-timeout-seconds", "10", "--align-window-ms", "0"},
                          0, std::move(env));
        start_generator("gen-a");
        Rig::coordinator().wait_ready(1, 30s);
    }

    // SIGKILL: no destructor, no flush, no signal handler of the coordinator
    // runs. The generator goes too; the next start() brings a new one.
    void kill_coordinator() {
        coordinator().signal(SIGKILL);
        const auto code = coordinator().wait_exit(10s);
        ASSERT_EQ(code, 128 + SIGKILL) << coordinator().output();
        generator("gen-a").signal(SIGKILL);
        generator("gen-a").wait_exit(10s);
        drop_generator("gen-a");
    }

    void start_epoch(std::uint64_t expected) {
        const auto r = Rig::start_epoch();
        ASSERT_TRUE(r.started) << r.message;
        ASSERT_EQ(r.message, "Epoch " + std::to_string(expected) + " started");
    }

    // The finished epoch's result exactly as /admin/status reports it (raw
    // JSON, so the comparison with the file is not filtered by our parser).
    bc::Json wait_result(std::uint64_t epoch) {
        Rig::wait_result(epoch, 30s);
        return bc::Json::parse(coord("GET", "/admin/status").body).at("lastResult");
    }
};

// The one result file whose name is not among `before`.
std::pair<std::string, std::string> new_result(const DirContents& now, const DirContents& before) {
    std::vector<std::pair<std::string, std::string>> added;
    for (const auto& kv : now.results) {
        if (!before.results.count(kv.first)) added.push_back(kv);
    }
    if (added.size() != 1)
        throw std::runtime_error("expected one new result file, got " + std::to_string(added.size()));
    return added.front();
}

}  // namespace

TEST(Durability, SigkillBetweenAndDuringEpochsLosesNoFinishedResult) {
    DurableCluster c;

    // --- Two epochs, then SIGKILL while idle between epochs. ---
    c.start(1.0);
    std::vector<bc::Json> reported;
    DirContents before;
    for (std::uint64_t epoch = 1; epoch <= 2; ++epoch) {
        c.start_epoch(epoch);
        reported.push_back(c.wait_result(epoch));
        EXPECT_FALSE(reported.back().contains("error")) << reported.back().dump();
        const auto now = list_results(c.results());
        const auto [name, text] = new_result(now, before);
        EXPECT_EQ(name, ResultStore::file_name(bc::epoch_result_from_json(reported.back())));
        EXPECT_EQ(text, bc::pretty(reported.back())) << "the file is the reported result, byte for byte";
        before = now;
    }
    c.kill_coordinator();

    const auto after_idle_kill = list_results(c.results());
    EXPECT_EQ(after_idle_kill.results, before.results) << "files changed by a kill while idle";
    EXPECT_TRUE(after_idle_kill.temporaries.empty());
    EXPECT_TRUE(after_idle_kill.others.empty());
    const std::string index_after_two = read_file(c.results() / "index.jsonl");
    {
        const auto index = read_index(c.results());
        ASSERT_EQ(index.lines.size(), 2u) << index_after_two;
        EXPECT_EQ(index.unreadable, 0u);
        EXPECT_TRUE(index.ends_with_newline);
        EXPECT_EQ(index.lines[0], reported[0]);
        EXPECT_EQ(index.lines[1], reported[1]);
    }

    // --- A restarted coordinator killed in the middle of a window. ---
    // Numbering starts again at 1 in a new process: the file name's
    // finishedAt (and a suffix on a clash) keeps it apart from the old epoch 1.
    c.start(30.0);
    c.start_epoch(1);
    c.wait_state([](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Measure; }, 20s);
    c.kill_coordinator();

    const auto after_measure_kill = list_results(c.results());
    EXPECT_EQ(after_measure_kill.results, before.results) << "an unfinished epoch must leave no result";
    EXPECT_TRUE(after_measure_kill.temporaries.empty());
    EXPECT_EQ(read_file(c.results() / "index.jsonl"), index_after_two);

    // --- Killed between the fsynced temporary file and its link. ---
    c.start(0.5, {{"BENCHDIST_TEST_RESULT_PAUSE_MS", "60000"}});
    c.start_epoch(1);
    const auto paused =
        c.coordinator().wait_for_line([](const std::string& l) { return contains(l, "result store: test pause"); },
                                      30s);
    ASSERT_TRUE(paused) << c.coordinator().output();
    c.kill_coordinator();

    const auto after_write_kill = list_results(c.results());
    EXPECT_EQ(after_write_kill.results, before.results) << "a half-written result must not appear as a result";
    ASSERT_EQ(after_write_kill.temporaries.size(), 1u);
    EXPECT_TRUE(contains(*paused, after_write_kill.temporaries[0])) << *paused;
    // What was left is the complete, fsynced epoch: only the link was missing.
    const auto orphan = bc::Json::parse(read_file(c.results() / after_write_kill.temporaries[0]));
    EXPECT_EQ(orphan.at("epoch"), 1);
    EXPECT_EQ(read_file(c.results() / "index.jsonl"), index_after_two);

    // --- One more coordinator: adds its epoch 1 next to the old one. ---
    c.start(0.5);
    c.start_epoch(1);
    const auto latest = c.wait_result(1);
    EXPECT_FALSE(latest.contains("error")) << latest.dump();
    const auto final_dir = list_results(c.results());
    ASSERT_EQ(final_dir.results.size(), 3u);
    for (const auto& [name, text] : before.results) {
        ASSERT_TRUE(final_dir.results.count(name)) << name;
        EXPECT_EQ(final_dir.results.at(name), text) << name << " was rewritten";
    }
    const auto [latest_name, latest_text] = new_result(final_dir, before);
    EXPECT_EQ(latest_name.rfind("test-1-spacetimedb-epoch-001-", 0), 0u) << latest_name;
    EXPECT_EQ(latest_text, bc::pretty(latest));
    // The stale temporary file is still there, untouched and still not a result.
    EXPECT_EQ(final_dir.temporaries, after_write_kill.temporaries);

    const auto index = read_index(c.results());
    ASSERT_EQ(index.lines.size(), 3u);
    EXPECT_EQ(index.unreadable, 0u);
    EXPECT_EQ(index.lines[0], reported[0]);
    EXPECT_EQ(index.lines[1], reported[1]);
    EXPECT_EQ(index.lines[2], latest);
}
