#include "benchdist/coordinator/result_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

namespace benchdist::coordinator {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& path, int err) {
    throw std::runtime_error("cannot " + what + " " + path.string() + ": " + std::strerror(err));
}

// Closes the descriptor on every path out, including exceptions.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

void write_all(int fd, const std::string& data, const fs::path& path) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write", path, errno);
        }
        done += static_cast<std::size_t>(n);
    }
}

// A temporary file this writer created: removed on every way out of the
// scope that made it, so a failed write (disk full, a file size limit, a
// failed fsync or link) leaves no partial file behind. Only a killed
// process leaves one, which readers skip (is_temporary).
class TemporaryName {
public:
    explicit TemporaryName(fs::path path) : path_(std::move(path)) {}
    ~TemporaryName() { ::unlink(path_.c_str()); }
    TemporaryName(const TemporaryName&) = delete;
    TemporaryName& operator=(const TemporaryName&) = delete;

private:
    fs::path path_;
};

// Calls `on_line` with every complete line of `path`, the last first, until
// it returns false. Bytes after the last newline are not a complete line
// (an append under way, or torn by a crash) and are left out. A missing
// file has no lines.
void for_each_line_backwards(const fs::path& path, const std::function<bool(std::string_view)>& on_line) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT) return;
        fail("open", path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail("stat", path, errno);
    constexpr off_t kChunk = 64 * 1024;
    off_t end = st.st_size;
    // The bytes before the first newline of what was read so far: the end
    // of a line that starts in the part still to read.
    std::string pending;
    bool skip_unterminated = true;  // the first segment met is the file's last, after its last newline
    while (end > 0) {
        const off_t n = std::min(end, kChunk);
        std::string buf(static_cast<std::size_t>(n), '\0');
        for (off_t done = 0; done < n;) {
            const ssize_t got =
                ::pread(fd.get(), buf.data() + done, static_cast<std::size_t>(n - done), end - n + done);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) fail("read", path, got < 0 ? errno : EIO);
            done += got;
        }
        end -= n;
        buf += pending;
        std::size_t segment_end = buf.size();
        for (auto nl = buf.rfind('\n'); nl != std::string::npos;
             nl = nl == 0 ? std::string::npos : buf.rfind('\n', nl - 1)) {
            const std::string_view line(buf.data() + nl + 1, segment_end - nl - 1);
            if (skip_unterminated) {
                skip_unterminated = false;
            } else if (!line.empty() && !on_line(line)) {
                return;
            }
            segment_end = nl;
        }
        pending.assign(buf, 0, segment_end);
    }
    if (!skip_unterminated && !pending.empty()) on_line(pending);
}

// The epoch of a compact index line, read from its start (`{"epoch":N,`:
// to_json writes the epoch first) without parsing the rest; nullopt when
// the line does not start so.
std::optional<std::uint64_t> leading_epoch(std::string_view line) {
    constexpr std::string_view prefix = "{\"epoch\":";
    if (line.substr(0, prefix.size()) != prefix) return std::nullopt;
    std::uint64_t value = 0;
    const char* begin = line.data() + prefix.size();
    const char* stop = line.data() + line.size();
    const auto [ptr, ec] = std::from_chars(begin, stop, value);
    if (ec != std::errc() || ptr == begin || ptr == stop || (*ptr != ',' && *ptr != '}')) return std::nullopt;
    return value;
}

std::optional<control::Json> parse_object(std::string_view line) {
    auto j = control::Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;
    return j;
}

control::Json value_or_null(const control::Json& object, const char* key) {
    if (!object.is_object()) return nullptr;
    const auto it = object.find(key);
    return it == object.end() ? control::Json(nullptr) : *it;
}

void fsync_dir(const fs::path& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) fail("open directory", dir, errno);
    if (::fsync(fd.get()) != 0) fail("fsync directory", dir, errno);
}

}  // namespace

ResultStore::ResultStore(fs::path directory) : directory_(std::move(directory)) {
    // Read once: the pause is a test hook, never something an epoch should
    // look up in the middle of writing its result.
    if (const char* pause = std::getenv("BENCHDIST_TEST_RESULT_PAUSE_MS")) {
        char* end = nullptr;
        const long long ms = std::strtoll(pause, &end, 10);
        if (end != pause && *end == '\0' && ms > 0) pause_before_link_ms_ = ms;
    }
}

std::string ResultStore::file_name(const control::EpochResult& result) {
    char epoch[32];
    std::snprintf(epoch, sizeof epoch, "%03llu", static_cast<unsigned long long>(result.epoch));
    std::string stamp = result.finished_at;
    for (auto& c : stamp) {
        if (c == ':' || c == '.') c = '-';
    }
    return result.test + "-" + result.connector + "-epoch-" + epoch + "-" + stamp + ".json";
}

bool ResultStore::is_temporary(const std::string& file_name) {
    return !file_name.empty() && file_name.front() == '.' && file_name.find(".tmp-") != std::string::npos;
}

void ResultStore::create_directory() const {
    // The directories made here must survive a crash too, or a durable
    // result could sit in a directory whose own entry was never written:
    // each new one is fsynced into its parent.
    std::vector<fs::path> created;
    for (fs::path p = directory_; !p.empty(); p = p.parent_path()) {
        std::error_code ec;
        if (fs::exists(p, ec)) break;
        created.push_back(p);
        if (p == p.parent_path()) break;
    }
    std::error_code ec;
    fs::create_directories(directory_, ec);
    if (ec) throw std::runtime_error("cannot create results directory " + directory_.string() + ": " + ec.message());
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
        const auto parent = it->has_parent_path() ? it->parent_path() : fs::path(".");
        fsync_dir(parent);
    }
}

fs::path ResultStore::write(const control::EpochResult& result) const {
    fs::path final_path;
    try {
        create_directory();
        final_path = link_result_file(result);
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("result file not written: ") + e.what());
    }
    try {
        // The result's name is durable before the index mentions it, so a
        // line in index.jsonl never points at a file a crash could take back.
        fsync_dir(directory_);
        // compact(): text from the server (an error message) may not be
        // UTF-8; it is replaced rather than thrown on, as in the file.
        std::string line = control::compact(control::to_json(result));
        line.pop_back();  // compact() ends with the newline append_index_line adds
        append_index_line(line);
    } catch (const std::exception& e) {
        throw std::runtime_error("result file " + final_path.string() +
                                 " written but not added to index.jsonl: " + e.what());
    }
    return final_path;
}

fs::path ResultStore::link_result_file(const control::EpochResult& result) const {
    const std::string content = control::pretty(control::to_json(result));
    const std::string name = file_name(result);
    const std::string stem = name.substr(0, name.size() - 5);

    const fs::path tmp = directory_ / ("." + name + ".tmp-" + std::to_string(::getpid()));
    // A temp file of the same name left by a killed process may still be a
    // second link to a finished result (killed between link and unlink):
    // unlink the name instead of truncating through it.
    ::unlink(tmp.c_str());
    std::optional<TemporaryName> temporary;
    {
        Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        if (fd.get() < 0) fail("create", tmp, errno);
        temporary.emplace(tmp);
        write_all(fd.get(), content, tmp);
        if (::fsync(fd.get()) != 0) fail("fsync", tmp, errno);
    }
    if (pause_before_link_ms_ > 0) {
        std::fprintf(stderr, "result store: test pause of %lld ms before linking %s\n", pause_before_link_ms_,
                     tmp.c_str());
        std::fflush(stderr);
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_before_link_ms_));
    }
    // link() fails with EEXIST instead of replacing, which rename() would
    // do. The temporary name goes when `temporary` does, linked or not.
    for (int suffix = 0;; ++suffix) {
        const fs::path final_path = directory_ / (suffix == 0 ? name : stem + "-" + std::to_string(suffix) + ".json");
        if (::link(tmp.c_str(), final_path.c_str()) == 0) return final_path;
        if (errno != EEXIST || suffix >= kMaxNameSuffix) fail("create", final_path, errno);
    }
}

void ResultStore::append_index_line(const std::string& line) const {
    const fs::path index = directory_ / "index.jsonl";
    Fd fd(::open(index.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (fd.get() < 0) fail("open", index, errno);
    // A crash in the middle of an earlier append (power loss; SIGKILL cannot
    // split one write()) leaves a line without its newline. Starting on a
    // fresh line keeps that damage to the one torn line readers skip.
    std::string data;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail("stat", index, errno);
    if (st.st_size > 0) {
        char last = '\n';
        if (::pread(fd.get(), &last, 1, st.st_size - 1) != 1) fail("read", index, errno);
        if (last != '\n') data += '\n';
    }
    data += line;
    data += '\n';
    // One write(): with O_APPEND concurrent writers never interleave a line.
    write_all(fd.get(), data, index);
    if (::fsync(fd.get()) != 0) fail("fsync", index, errno);
    // index.jsonl's own directory entry, when this append created it.
    if (st.st_size == 0) fsync_dir(directory_);
}

std::vector<control::Json> ResultStore::recent(std::size_t limit) const {
    std::vector<control::Json> out;
    if (limit == 0) return out;
    for_each_line_backwards(directory_ / "index.jsonl", [&](std::string_view line) {
        if (auto j = parse_object(line)) out.push_back(std::move(*j));
        return out.size() < limit;
    });
    return out;
}

std::optional<control::Json> ResultStore::find(std::uint64_t epoch) const {
    std::optional<control::Json> found;
    for_each_line_backwards(directory_ / "index.jsonl", [&](std::string_view line) {
        // Only the matching line is parsed whole: a long history is
        // scanned at the speed of reading it.
        if (const auto leading = leading_epoch(line); leading && *leading != epoch) return true;
        auto j = parse_object(line);
        if (j && j->contains("epoch") && (*j)["epoch"] == epoch) found = std::move(j);
        return !found;
    });
    return found;
}

control::Json history_entry(const control::Json& result) {
    control::Json e;
    for (const char* key : {"epoch", "label", "verdict", "tps", "finishedAt"}) e[key] = value_or_null(result, key);
    e["aborted"] = value_or_null(result, "aborted").is_boolean() ? result["aborted"] : control::Json(false);
    const auto latency = value_or_null(result, "latency");
    e["p50"] = value_or_null(latency, "p50");
    e["p99"] = value_or_null(latency, "p99");
    control::Json codes = control::Json::array();
    if (const auto reasons = value_or_null(result, "reasons"); reasons.is_array()) {
        for (const auto& r : reasons)
            if (r.is_object() && r.contains("code") && r["code"].is_string()) codes.push_back(r["code"]);
    }
    e["reasons"] = codes;
    const auto warnings = value_or_null(result, "warnings");
    e["warnings"] = warnings.is_array() ? warnings.size() : 0;
    return e;
}

}  // namespace benchdist::coordinator
