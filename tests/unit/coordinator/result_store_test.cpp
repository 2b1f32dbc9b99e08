#include "benchdist/coordinator/result_store.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

namespace {

// Every name in `dir`, sorted.
std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// Caps the size of files this process writes (RLIMIT_FSIZE, which binds
// root too): a write past it fails with EFBIG, as a full disk fails with
// ENOSPC. SIGXFSZ is ignored meanwhile so the write returns the error.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        ::getrlimit(RLIMIT_FSIZE, &saved_);
        old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        rlimit capped = saved_;
        capped.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &capped);
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &saved_);
        std::signal(SIGXFSZ, old_handler_);
    }

private:
    rlimit saved_{};
    void (*old_handler_)(int) = nullptr;
};

}  // namespace

// A write that fails half way (disk full) used to leave its hidden
// temporary file behind, partly written; every failure must remove it.
TEST_F(ResultStoreTest, FailedWriteLeavesNoTemporaryFile) {
    fs::create_directories(dir);
    const ResultStore store(dir);
    std::string message;
    {
        const FileSizeLimit limit(64);  // the pretty JSON is ~500 bytes
        try {
            store.write(sample(1));
        } catch (const std::runtime_error& e) {
            message = e.what();
        }
    }
    EXPECT_NE(message.find("result file not written: cannot write "), std::string::npos) << message;
    EXPECT_NE(message.find((dir / ".").string()), std::string::npos) << message;
    EXPECT_EQ(names_in(dir), std::vector<std::string>{}) << "a temporary file was left behind";
    // The store still works once the disk has room again.
    EXPECT_TRUE(fs::is_regular_file(store.write(sample(1))));
}

// Linking fails when every name the store may use is taken; the temporary
// file goes too (this path removed it before; kept as a guard for the
// shared cleanup).
TEST_F(ResultStoreTest, FailedLinkLeavesNoTemporaryFile) {
    fs::create_directories(dir);
    const auto name = ResultStore::file_name(sample(1));
    const auto stem = name.substr(0, name.size() - 5);
    std::ofstream(dir / name) << "taken";
    for (int i = 1; i <= 1000; ++i) std::ofstream(dir / (stem + "-" + std::to_string(i) + ".json")) << "taken";
    const auto before = names_in(dir);
    const ResultStore store(dir);
    try {
        store.write(sample(1));
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("result file not written: cannot create "), std::string::npos) << e.what();
    }
    EXPECT_EQ(names_in(dir), before);
}

// The file is in place but its index line cannot be written: the message
// says so instead of claiming nothing was written, and no temporary stays.
TEST_F(ResultStoreTest, IndexFailureSaysTheResultFileExists) {
    fs::create_directories(dir / "index.jsonl");  // a directory where the index goes
    const ResultStore store(dir);
    try {
        store.write(sample(1));
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        const std::string expected = "result file " + (dir / ResultStore::file_name(sample(1))).string() +
                                     " written but not added to index.jsonl: cannot open ";
        EXPECT_EQ(std::string(e.what()).rfind(expected, 0), 0u) << e.what();
    }
    EXPECT_EQ(names_in(dir), (std::vector<std::string>{"index.jsonl", ResultStore::file_name(sample(1))}));
}

// Text quoted from a server (an error message) need not be UTF-8. The
// index line used a dump() that throws on it, after the file was already
// in place.
TEST_F(ResultStoreTest, InvalidUtf8InAResultIsWrittenReplaced) {
    auto r = sample(1);
    r.error = "server said \xff\xfe";
    r.label = "caf\xe9";
    const ResultStore store(dir);
    const auto path = store.write(r);
    const auto file = control::epoch_result_from_json(control::Json::parse(slurp(path)));
    EXPECT_EQ(file.error, "server said \xEF\xBF\xBD\xEF\xBF\xBD");
    const auto index = slurp(dir / "index.jsonl");
    EXPECT_EQ(control::epoch_result_from_json(control::Json::parse(index)).label, "caf\xEF\xBF\xBD");
}
