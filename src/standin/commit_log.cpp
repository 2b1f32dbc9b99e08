#include "benchdist/standin/commit_log.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace benchdist::standin {

namespace {
constexpr std::string_view kHeader = "# stdb-standin commit log v1: commit_time_us db from to\n";

template <typename T>
void append_number(std::string& out, T v) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
}
}  // namespace

CommitLog::CommitLog(std::filesystem::path path) : CommitLog(std::move(path), Options{}) {}

CommitLog::CommitLog(std::filesystem::path path, Options options) : path_(std::move(path)), options_(options) {
    if (options_.batch_records == 0) options_.batch_records = 1;
    if (options_.max_pending_records < options_.batch_records) options_.max_pending_records = options_.batch_records;
    file_ = std::fopen(path_.c_str(), "ab");
    if (file_ == nullptr) {
        throw std::runtime_error("cannot open commit log " + path_.string() + ": " + std::strerror(errno) +
                                 " — does the directory exist and is it writable?");
    }
    if (std::fwrite(kHeader.data(), 1, kHeader.size(), file_) != kHeader.size() || std::fflush(file_) != 0) {
        const std::string reason = std::strerror(errno);
        std::fclose(file_);
        throw std::runtime_error("cannot write commit log " + path_.string() + ": " + reason);
    }
    pending_.reserve(options_.batch_records);
    writer_ = std::thread([this] { run_writer(); });
}

CommitLog::~CommitLog() { close(); }

CommitLog::DbId CommitLog::register_database(std::string_view name) {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < names_.size(); ++i) {
        if (names_[i] == name) return static_cast<DbId>(i);
    }
    names_.emplace_back(name);
    return static_cast<DbId>(names_.size() - 1);
}

void CommitLog::append(DbId db, std::int64_t commit_time_us, std::uint32_t from, std::uint32_t to) {
    std::unique_lock lock(mu_);
    if (closed_) throw std::logic_error("commit log " + path_.string() + " is closed");
    if (pending_.size() >= options_.max_pending_records) {
        wake_writer_.notify_one();
        progress_.wait(lock, [&] { return pending_.size() < options_.max_pending_records || stopping_; });
    }
    pending_.push_back({commit_time_us, db, from, to});
    ++appended_;
    // Wake the writer only when a batch fills, not per record: a notify with
    // a waiter is a syscall, and this runs on the reducer thread.
    if (pending_.size() == options_.batch_records) wake_writer_.notify_one();
}

void CommitLog::flush() {
    std::unique_lock lock(mu_);
    if (closed_) return;
    const std::uint64_t target = appended_;
    if (written_ >= target) return;
    if (flush_target_ < target) flush_target_ = target;
    wake_writer_.notify_one();
    progress_.wait(lock, [&] { return written_ >= target || closed_; });
}

void CommitLog::close() {
    std::lock_guard close_lock(close_mu_);
    {
        std::lock_guard lock(mu_);
        if (closed_) return;  // close() after close(): nothing left to do
        stopping_ = true;
        wake_writer_.notify_one();
        progress_.notify_all();
    }
    if (writer_.joinable()) writer_.join();
    std::vector<Pending> leftovers;
    std::vector<std::string> names;
    {
        // An appender that was blocked on a full queue may have pushed after
        // the writer's last swap; write those too, nothing is dropped.
        std::lock_guard lock(mu_);
        leftovers.swap(pending_);
        names = names_;
        closed_ = true;  // later appends throw instead of vanishing
    }
    if (!leftovers.empty()) write_batch(leftovers, names);
    std::lock_guard lock(mu_);
    written_ += leftovers.size();
    if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0) {
        if (!error_) error_ = std::string("flushing commit log ") + path_.string() + ": " + std::strerror(errno);
    }
    std::fclose(file_);
    file_ = nullptr;
    progress_.notify_all();
}

std::uint64_t CommitLog::appended() const {
    std::lock_guard lock(mu_);
    return appended_;
}

std::uint64_t CommitLog::written() const {
    std::lock_guard lock(mu_);
    return written_;
}

std::optional<std::string> CommitLog::error() const {
    std::lock_guard lock(mu_);
    return error_;
}

void CommitLog::run_writer() {
    std::vector<Pending> batch;
    batch.reserve(options_.batch_records);
    std::vector<std::string> names;
    std::unique_lock lock(mu_);
    for (;;) {
        wake_writer_.wait_for(lock, options_.flush_interval, [&] {
            return stopping_ || pending_.size() >= options_.batch_records || flush_target_ > written_;
        });
        if (pending_.empty()) {
            if (stopping_) break;
            continue;
        }
        // Swap, not copy: the reducer side gets our empty (already reserved)
        // buffer and carries on while we write.
        batch.swap(pending_);
        if (names.size() != names_.size()) names.assign(names_.begin(), names_.end());
        progress_.notify_all();  // appenders blocked on a full queue
        lock.unlock();
        write_batch(batch, names);
        const auto n = batch.size();
        batch.clear();
        lock.lock();
        written_ += n;
        progress_.notify_all();
    }
}

void CommitLog::write_batch(const std::vector<Pending>& batch, const std::vector<std::string>& names) {
    std::string text;
    text.reserve(batch.size() * 40);
    for (const auto& r : batch) {
        append_number(text, r.commit_time_us);
        text += ' ';
        text += r.db < names.size() ? std::string_view(names[r.db]) : std::string_view("?");
        text += ' ';
        append_number(text, r.from);
        text += ' ';
        append_number(text, r.to);
        text += '\n';
    }
    const bool ok = std::fwrite(text.data(), 1, text.size(), file_) == text.size() && std::fflush(file_) == 0;
    if (!ok) {
        const std::string reason = std::strerror(errno);
        std::lock_guard lock(mu_);
        if (!error_) error_ = "writing commit log " + path_.string() + ": " + reason;
    }
}

std::vector<CommitRecord> read_commit_log(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open commit log " + path.string());
    std::vector<CommitRecord> out;
    std::string line;
    std::size_t line_no = 0;
    auto fail = [&](const std::string& why) {
        throw std::runtime_error("commit log " + path.string() + " line " + std::to_string(line_no) + ": " + why +
                                 " in \"" + line.substr(0, 80) + "\"");
    };
    while (std::getline(in, line)) {
        ++line_no;
        if (line.empty() || line[0] == '#') continue;
        const char* p = line.data();
        const char* end = line.data() + line.size();
        CommitRecord rec;
        auto res = std::from_chars(p, end, rec.commit_time_us);
        if (res.ec != std::errc{} || res.ptr == end || *res.ptr != ' ') fail("bad commit time");
        p = res.ptr + 1;
        const char* db_end = p;
        while (db_end != end && *db_end != ' ') ++db_end;
        if (db_end == p || db_end == end) fail("bad database name");
        rec.db.assign(p, db_end);
        p = db_end + 1;
        res = std::from_chars(p, end, rec.from);
        if (res.ec != std::errc{} || res.ptr == end || *res.ptr != ' ') fail("bad `from` account");
        p = res.ptr + 1;
        res = std::from_chars(p, end, rec.to);
        if (res.ec != std::errc{} || res.ptr != end) fail("bad `to` account");
        out.push_back(std::move(rec));
    }
    return out;
}

std::uint64_t count_commits(std::span<const CommitRecord> records, std::string_view db, std::int64_t window_start_us,
                            std::int64_t window_end_us) {
    std::uint64_t n = 0;
    for (const auto& r : records) {
        if (r.db == db && r.commit_time_us >= window_start_us && r.commit_time_us < window_end_us) ++n;
    }
    return n;
}

}  // namespace benchdist::standin
