// raise_open_file_limit on the test process itself: it lowers its own soft
// RLIMIT_NOFILE (any process may), checks the raise brings it back to the
// hard limit and never lowers it, and that a need above the hard limit is
// reported with the operator's message. files_needed and the message text
// are checked as plain values.
#include "benchdist/generator/resource_limits.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace benchdist::generator {
namespace {

rlimit current() {
    rlimit l{};
    EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &l), 0);
    return l;
}

// Restores the soft limit the test found, whatever the test did.
class FileLimitTest : public ::testing::Test {
protected:
    void SetUp() override { saved_ = current(); }
    void TearDown() override { ::setrlimit(RLIMIT_NOFILE, &saved_); }

    // Lowers the soft limit (never below what the process already holds
    // open plus some, so gtest keeps working).
    std::uint64_t lower_soft_to(std::uint64_t soft) {
        rlimit l = current();
        l.rlim_cur = std::min<rlim_t>(soft, l.rlim_max);
        EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &l), 0);
        return current().rlim_cur;
    }

    rlimit saved_{};
};

TEST(FilesNeeded, AddsTheMargin) {
    EXPECT_EQ(files_needed(0), kOpenFileMargin);
    EXPECT_EQ(files_needed(50000), 50064u);
    EXPECT_EQ(files_needed(static_cast<std::size_t>(-1)), static_cast<std::size_t>(-1));  // saturates
}

TEST(FileLimitMessage, NamesConcurrencyNeedHardLimitAndRemedies) {
    EXPECT_EQ(file_limit_message(files_needed(50000), 1024),
              "--concurrency 50000 needs about 50064 open files, but the hard limit is 1024: raise it (ulimit -Hn "
              "as root, LimitNOFILE= in a systemd unit, nofile in /etc/security/limits.conf) or spread the "
              "connections over more generators");
    EXPECT_EQ(file_limit_message(10, 8).rfind("10 open files are needed, but the hard limit is 8: raise it", 0), 0u);
}

TEST_F(FileLimitTest, RaisesALoweredSoftLimitToTheHardLimit) {
    if (saved_.rlim_max == RLIM_INFINITY || saved_.rlim_max <= 256) GTEST_SKIP() << "hard limit " << saved_.rlim_max;
    const std::uint64_t lowered = lower_soft_to(256);
    ASSERT_EQ(lowered, 256u);

    const FileLimitResult r = raise_open_file_limit(100);
    EXPECT_EQ(r.needed, 100u);
    EXPECT_EQ(r.soft_before, 256u);
    EXPECT_EQ(r.hard, saved_.rlim_max);
    EXPECT_EQ(r.soft_after, saved_.rlim_max);
    EXPECT_EQ(current().rlim_cur, saved_.rlim_max);
    EXPECT_TRUE(r.enough);
    EXPECT_TRUE(r.message.empty()) << r.message;
}

TEST_F(FileLimitTest, SoftAtHardStaysThere) {
    if (saved_.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "unlimited hard limit";
    // Put the soft limit at the hard one first: nothing may go down.
    ASSERT_TRUE(raise_open_file_limit(1).enough);
    const FileLimitResult r = raise_open_file_limit(1);
    EXPECT_EQ(r.soft_before, saved_.rlim_max);
    EXPECT_EQ(r.soft_after, saved_.rlim_max);
    EXPECT_EQ(current().rlim_cur, saved_.rlim_max);
}

TEST_F(FileLimitTest, NeedAboveTheHardLimitIsNotEnoughAndSaysWhy) {
    if (saved_.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "unlimited hard limit";
    lower_soft_to(std::min<std::uint64_t>(saved_.rlim_max, 256));
    const std::size_t connections = static_cast<std::size_t>(saved_.rlim_max) + 1;
    const FileLimitResult r = raise_open_file_limit(files_needed(connections));
    EXPECT_FALSE(r.enough);
    // The soft limit was still raised as far as it goes.
    EXPECT_EQ(r.soft_after, saved_.rlim_max);
    EXPECT_EQ(r.hard, saved_.rlim_max);
    EXPECT_EQ(r.message, file_limit_message(files_needed(connections), saved_.rlim_max));
    EXPECT_EQ(r.message.rfind("--concurrency " + std::to_string(connections) + " needs about " +
                                  std::to_string(connections + kOpenFileMargin) +
                                  " open files, but the hard limit is " + std::to_string(saved_.rlim_max) + ": ",
                              0),
              0u)
        << r.message;
}

}  // namespace
}  // namespace benchdist::generator
