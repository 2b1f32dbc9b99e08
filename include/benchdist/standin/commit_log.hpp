// CommitLog: stdb-standin's ground truth for tests. One record per committed
// transfer (commit time, database, from, to) lets a test count exactly how
// many transfers committed inside a measured window and compare that with
// what the coordinator reported from the metrics counter. Reducer threads must
// never wait for the disk, so append() only pushes into an in-memory batch;
// a background thread swaps the whole batch out and writes it. Records are
// never dropped: if the writer falls behind by max_pending_records (millions
// of records, i.e. the disk has effectively stopped), append() blocks until
// it catches up rather than lose ground truth.
//
// File format (text, one record a line, appended to an existing file):
//   # stdb-standin commit log v1: commit_time_us db from to
//   1767225600123456 test-1 3 9
// commit_time_us is microseconds since the Unix epoch at which the reducer
// finished (start timestamp + duration); db is the database name (no
// whitespace); from and to are the account ids. Lines starting with '#' are
// comments (a header is written each time the log is opened).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace benchdist::standin {

struct CommitRecord {
    std::int64_t commit_time_us = 0;
    std::string db;
    std::uint32_t from = 0;
    std::uint32_t to = 0;
    friend bool operator==(const CommitRecord&, const CommitRecord&) = default;
};

class CommitLog {
public:
    struct Options {
        // The writer wakes when this many records wait, or every flush_interval.
        std::size_t batch_records = 8192;
        std::chrono::milliseconds flush_interval{50};
        // Back-pressure point; see the header comment. 16M records ~ 400 MB.
        std::size_t max_pending_records = std::size_t{1} << 24;
    };

    using DbId = std::uint32_t;

    // Opens (creates or appends to) the file and starts the writer thread.
    // Throws std::runtime_error naming the path if it cannot be opened.
    explicit CommitLog(std::filesystem::path path);
    CommitLog(std::filesystem::path path, Options options);
    CommitLog(const CommitLog&) = delete;
    CommitLog& operator=(const CommitLog&) = delete;
    ~CommitLog();  // close()

    // Names a database once so records carry a small id instead of a string.
    // Registering the same name again returns the same id. Thread-safe.
    DbId register_database(std::string_view name);

    // Thread-safe; does no I/O. Throws std::logic_error after close().
    void append(DbId db, std::int64_t commit_time_us, std::uint32_t from, std::uint32_t to);

    // Blocks until every record appended before the call is written and
    // flushed to the OS.
    void flush();
    // Writes everything still pending, fsyncs, closes the file and stops the
    // writer. Idempotent.
    void close();

    std::uint64_t appended() const;
    std::uint64_t written() const;
    // The first write error, if any (the log keeps accepting records).
    std::optional<std::string> error() const;
    const std::filesystem::path& path() const { return path_; }

private:
    struct Pending {
        std::int64_t commit_time_us;
        DbId db;
        std::uint32_t from;
        std::uint32_t to;
    };

    void run_writer();
    void write_batch(const std::vector<Pending>& batch, const std::vector<std::string>& names);

    std::filesystem::path path_;
    Options options_;
    std::FILE* file_ = nullptr;

    std::mutex close_mu_;  // serializes close() callers around join()
    mutable std::mutex mu_;
    std::condition_variable wake_writer_;
    std::condition_variable progress_;  // written_ advanced or the writer stopped
    std::vector<Pending> pending_;
    std::vector<std::string> names_;
    std::uint64_t appended_ = 0;
    std::uint64_t written_ = 0;
    std::uint64_t flush_target_ = 0;
    bool stopping_ = false;
    bool closed_ = false;
    std::optional<std::string> error_;
    std::thread writer_;
};

// Reads a commit log. Throws std::runtime_error naming the path and line on
// an unreadable file or a malformed line.
std::vector<CommitRecord> read_commit_log(const std::filesystem::path& path);

// Records of `db` with window_start_us <= commit_time_us < window_end_us.
std::uint64_t count_commits(std::span<const CommitRecord> records, std::string_view db, std::int64_t window_start_us,
                            std::int64_t window_end_us);

}  // namespace benchdist::standin
