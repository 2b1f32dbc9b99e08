#include "benchdist/standin/commit_log.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <fstream>
#include <thread>

namespace sd = benchdist::standin;
namespace fs = std::filesystem;

namespace {

class CommitLogTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path_ = fs::temp_directory_path() /
                ("standin_commit_log_" + std::to_string(::getpid()) + "_" + info->name() + ".log");
        fs::remove(path_);
    }
    void TearDown() override { fs::remove(path_); }

    fs::path path_;
};

}  // namespace

TEST_F(CommitLogTest, WritesOneLinePerRecordAndReadsThemBack) {
    {
        sd::CommitLog log(path_);
        const auto a = log.register_database("test-1");
        const auto b = log.register_database("other");
        EXPECT_EQ(log.register_database("test-1"), a);
        EXPECT_NE(a, b);
        log.append(a, 1767225600000001, 3, 9);
        log.append(b, 1767225600000002, 0, 4294967295u);
        log.append(a, 1767225600000003, 9, 3);
        EXPECT_EQ(log.appended(), 3u);
        EXPECT_EQ(log.path(), path_);
    }  // the destructor flushes and closes
    std::ifstream in(path_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text,
              "# stdb-standin commit log v1: commit_time_us db from to\n"
              "1767225600000001 test-1 3 9\n"
              "1767225600000002 other 0 4294967295\n"
              "1767225600000003 test-1 9 3\n");
    const auto records = sd::read_commit_log(path_);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[1], (sd::CommitRecord{1767225600000002, "other", 0, 4294967295u}));
}

TEST_F(CommitLogTest, CountsCommitsInAHalfOpenWindow) {
    {
        sd::CommitLog log(path_);
        const auto a = log.register_database("test-1");
        const auto b = log.register_database("test-2");
        for (std::int64_t t = 100; t < 200; ++t) log.append(a, t, 1, 2);
        log.append(b, 150, 1, 2);
    }
    const auto records = sd::read_commit_log(path_);
    EXPECT_EQ(sd::count_commits(records, "test-1", 100, 200), 100u);
    EXPECT_EQ(sd::count_commits(records, "test-1", 110, 120), 10u);  // 110..119
    EXPECT_EQ(sd::count_commits(records, "test-1", 199, 1000), 1u);
    EXPECT_EQ(sd::count_commits(records, "test-1", 0, 100), 0u);
    EXPECT_EQ(sd::count_commits(records, "test-2", 0, 1000), 1u);
    EXPECT_EQ(sd::count_commits(records, "nope", 0, 1000), 0u);
}

TEST_F(CommitLogTest, FlushMakesRecordsReadableWhileOpen) {
    sd::CommitLog log(path_, {.batch_records = 1000, .flush_interval = std::chrono::hours(1)});
    const auto db = log.register_database("test-1");
    log.append(db, 5, 1, 2);
    log.append(db, 6, 2, 1);
    log.flush();
    EXPECT_EQ(log.written(), 2u);
    EXPECT_EQ(sd::read_commit_log(path_).size(), 2u);
    log.flush();  // nothing pending: returns at once
    EXPECT_FALSE(log.error());
}

TEST_F(CommitLogTest, NeverDropsRecordsUnderBackPressure) {
    // A tiny queue forces appenders to wait for the writer many times.
    constexpr int kPerThread = 5000;
    {
        sd::CommitLog log(path_, {.batch_records = 4,
                                  .flush_interval = std::chrono::milliseconds(1),
                                  .max_pending_records = 8});
        auto producer = [&log](const char* name) {
            const auto db = log.register_database(name);
            for (int i = 0; i < kPerThread; ++i) log.append(db, i, static_cast<std::uint32_t>(i), 0);
        };
        std::thread t1(producer, "one");
        std::thread t2(producer, "two");
        t1.join();
        t2.join();
        EXPECT_EQ(log.appended(), 2u * kPerThread);
    }
    const auto records = sd::read_commit_log(path_);
    EXPECT_EQ(records.size(), 2u * kPerThread);
    EXPECT_EQ(sd::count_commits(records, "one", 0, kPerThread), static_cast<std::uint64_t>(kPerThread));
    EXPECT_EQ(sd::count_commits(records, "two", 0, kPerThread), static_cast<std::uint64_t>(kPerThread));
    // Each producer's records stay in its own order.
    std::int64_t last = -1;
    for (const auto& r : records) {
        if (r.db != "one") continue;
        EXPECT_EQ(r.commit_time_us, last + 1);
        last = r.commit_time_us;
    }
}

TEST_F(CommitLogTest, AppendAfterCloseThrowsAndCloseIsIdempotent) {
    sd::CommitLog log(path_);
    const auto db = log.register_database("test-1");
    log.append(db, 1, 1, 2);
    log.close();
    log.close();
    EXPECT_THROW(log.append(db, 2, 1, 2), std::logic_error);
    EXPECT_EQ(log.written(), 1u);
    EXPECT_EQ(sd::read_commit_log(path_).size(), 1u);
}

TEST_F(CommitLogTest, ReopeningAppends) {
    for (int run = 0; run < 2; ++run) {
        sd::CommitLog log(path_);
        log.append(log.register_database("test-1"), run, 1, 2);
    }
    const auto records = sd::read_commit_log(path_);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].commit_time_us, 0);
    EXPECT_EQ(records[1].commit_time_us, 1);
}

TEST_F(CommitLogTest, ReaderRejectsMalformedLinesWithTheirNumber) {
    {
        std::ofstream out(path_);
        out << "# header\n1 test-1 1 2\n\n2 test-1 x 2\n";
    }
    try {
        sd::read_commit_log(path_);
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("line 4"), std::string::npos) << e.what();
    }
    EXPECT_THROW(sd::read_commit_log(path_.string() + ".missing"), std::runtime_error);
}

TEST_F(CommitLogTest, UnopenablePathNamesIt) {
    const auto bad = fs::temp_directory_path() / "standin_no_such_dir_xyz" / "log.txt";
    try {
        sd::CommitLog log(bad);
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
    }
}
