#include "benchdist/coordinator/result_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

using namespace benchdist;
using namespace benchdist::coordinator;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

class ResultStoreTest : public ::testing::Test {
protected:
    fs::path dir;
    void SetUp() override {
        dir = fs::temp_directory_path() / ("benchdist-result-store-" + std::to_string(::getpid()) + "-" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
    }
    void TearDown() override { fs::remove_all(dir); }

    static control::EpochResult sample(std::uint64_t epoch) {
        control::EpochResult r;
        r.epoch = epoch;
        r.label = "run-1";
        r.window_seconds = 30;
        r.actual_window_seconds = 30.014;
        r.participant_ids = {"gen-a", "gen-b"};
        r.participant_connections = 5000;
        r.measured_at = "2026-04-10T12:00:03.210Z";
        r.finished_at = "2026-04-10T12:00:33.224Z";
        r.committed_before = "619241";
        r.committed_after = "1219241";
        r.committed_delta = "600000";
        r.tps = 19990.671020190577;
        r.verification = "passed";
        return r;
    }
};

}  // namespace

TEST_F(ResultStoreTest, FileNameFollowsTheOriginalPattern) {
    EXPECT_EQ(ResultStore::file_name(sample(1)), "test-1-spacetimedb-epoch-001-2026-04-10T12-00-33-224Z.json");
    EXPECT_EQ(ResultStore::file_name(sample(1234)), "test-1-spacetimedb-epoch-1234-2026-04-10T12-00-33-224Z.json");
}

TEST_F(ResultStoreTest, WritesPrettyJsonThatParsesBackAndCreatesNestedDirectory) {
    const ResultStore store(dir / "a" / "b");
    const auto path = store.write(sample(1));
    EXPECT_EQ(path, dir / "a" / "b" / "test-1-spacetimedb-epoch-001-2026-04-10T12-00-33-224Z.json");
    const auto text = slurp(path);
    EXPECT_EQ(text, control::pretty(control::to_json(sample(1))));
    EXPECT_EQ(text.substr(0, 17), "{\n  \"epoch\": 1,\n ");
    EXPECT_EQ(text.back(), '\n');
    const auto back = control::epoch_result_from_json(control::Json::parse(text));
    EXPECT_EQ(back.committed_delta, "600000");
    EXPECT_EQ(back.participant_ids, sample(1).participant_ids);
    // No temp files left behind.
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir / "a" / "b")) {
        ++files;
        EXPECT_NE(e.path().filename().string().front(), '.');
    }
    EXPECT_EQ(files, 2u);  // the result and index.jsonl
}

TEST_F(ResultStoreTest, NeverOverwritesAndIndexGetsOneLinePerResult) {
    const ResultStore store(dir);
    auto first = sample(1);
    auto second = sample(1);
    second.committed_delta = "7";
    auto third = sample(1);
    third.committed_delta = "8";
    const auto p1 = store.write(first);
    const auto p2 = store.write(second);
    const auto p3 = store.write(third);
    EXPECT_EQ(p2.filename(), "test-1-spacetimedb-epoch-001-2026-04-10T12-00-33-224Z-1.json");
    EXPECT_EQ(p3.filename(), "test-1-spacetimedb-epoch-001-2026-04-10T12-00-33-224Z-2.json");
    EXPECT_EQ(control::epoch_result_from_json(control::Json::parse(slurp(p1))).committed_delta, "600000");
    EXPECT_EQ(control::epoch_result_from_json(control::Json::parse(slurp(p2))).committed_delta, "7");

    std::ifstream index(dir / "index.jsonl");
    std::string line;
    std::vector<std::string> deltas;
    while (std::getline(index, line)) {
        EXPECT_EQ(line.find('\n'), std::string::npos);
        EXPECT_EQ(line.find("\n  "), std::string::npos) << "compact, one line";
        deltas.push_back(control::epoch_result_from_json(control::Json::parse(line)).committed_delta);
    }
    EXPECT_EQ(deltas, (std::vector<std::string>{"600000", "7", "8"}));
}

TEST_F(ResultStoreTest, UnwritableDirectoryNamesThePath) {
    fs::create_directories(dir);
    std::ofstream(dir / "file") << "x";
    const ResultStore store(dir / "file" / "sub");
    try {
        store.write(sample(1));
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find((dir / "file" / "sub").string()), std::string::npos) << e.what();
    }
}

TEST_F(ResultStoreTest, TornLastIndexLineIsFencedOffFromTheNextOne) {
    // What a power loss in the middle of an append can leave: a line with no newline.
    fs::create_directories(dir);
    std::ofstream(dir / "index.jsonl", std::ios::binary) << "{\"epoch\":1,\"label\":\"ru";
    const ResultStore store(dir);
    store.write(sample(2));
    const auto text = slurp(dir / "index.jsonl");
    EXPECT_EQ(text, "{\"epoch\":1,\"label\":\"ru\n" + control::to_json(sample(2)).dump() + "\n");
    // A reader that skips lines it cannot parse still gets every whole result.
    std::istringstream in(text);
    std::string line;
    std::vector<std::uint64_t> epochs;
    while (std::getline(in, line)) {
        try {
            epochs.push_back(control::epoch_result_from_json(control::Json::parse(line)).epoch);
        } catch (const std::exception&) {
        }
    }
    EXPECT_EQ(epochs, (std::vector<std::uint64_t>{2}));
}

TEST_F(ResultStoreTest, StaleTemporaryLinkedToAResultIsNotWrittenThrough) {
    // A writer killed between link() and unlink() leaves its temporary name as
    // a second link to the finished result. A later writer that happens to
    // get the same temporary name (same pid, same result name) must not
    // truncate that shared file.
    const ResultStore store(dir);
    const auto first = store.write(sample(1));
    const auto original = slurp(first);
    const auto stale = dir / ("." + ResultStore::file_name(sample(1)) + ".tmp-" + std::to_string(::getpid()));
    fs::create_hard_link(first, stale);
    auto again = sample(1);
    again.committed_delta = "9";
    const auto second = store.write(again);
    EXPECT_NE(second, first);
    EXPECT_EQ(slurp(first), original);
    EXPECT_EQ(control::epoch_result_from_json(control::Json::parse(slurp(second))).committed_delta, "9");
    EXPECT_FALSE(fs::exists(stale)) << "the stale name is reused and removed";
}

TEST_F(ResultStoreTest, TemporaryNamesAreNeverResultNames) {
    const auto name = ResultStore::file_name(sample(1));
    EXPECT_FALSE(ResultStore::is_temporary(name));
    EXPECT_FALSE(ResultStore::is_temporary("index.jsonl"));
    EXPECT_TRUE(ResultStore::is_temporary("." + name + ".tmp-4242"));
    EXPECT_NE(fs::path("." + name + ".tmp-4242").extension(), ".json");
}

TEST_F(ResultStoreTest, EveryNewDirectoryLevelIsCreated) {
    const ResultStore store(dir / "x" / "y" / "z");
    const auto path = store.write(sample(3));
    EXPECT_TRUE(fs::is_regular_file(path));
    EXPECT_TRUE(fs::is_regular_file(dir / "x" / "y" / "z" / "index.jsonl"));
}
