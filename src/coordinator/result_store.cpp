#include "benchdist/coordinator/result_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

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

void fsync_dir(const fs::path& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) fail("open directory", dir, errno);
    if (::fsync(fd.get()) != 0) fail("fsync directory", dir, errno);
}

}  // namespace

ResultStore::ResultStore(fs::path directory) : directory_(std::move(directory)) {}

std::string ResultStore::file_name(const control::EpochResult& result) {
    char epoch[32];
    std::snprintf(epoch, sizeof epoch, "%03llu", static_cast<unsigned long long>(result.epoch));
    std::string stamp = result.finished_at;
    for (auto& c : stamp) {
        if (c == ':' || c == '.') c = '-';
    }
    return result.test + "-" + result.connector + "-epoch-" + epoch + "-" + stamp + ".json";
}

fs::path ResultStore::write(const control::EpochResult& result) const {
    std::error_code ec;
    fs::create_directories(directory_, ec);
    if (ec) throw std::runtime_error("cannot create results directory " + directory_.string() + ": " + ec.message());

    const std::string content = control::pretty(control::to_json(result));
    const std::string name = file_name(result);
    const std::string stem = name.substr(0, name.size() - 5);

    const fs::path tmp = directory_ / ("." + name + ".tmp-" + std::to_string(::getpid()));
    {
        Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (fd.get() < 0) fail("create", tmp, errno);
        write_all(fd.get(), content, tmp);
        if (::fsync(fd.get()) != 0) fail("fsync", tmp, errno);
    }
    // link() fails with EEXIST instead of replacing, which rename() would do.
    fs::path final_path;
    for (int suffix = 0;; ++suffix) {
        final_path = directory_ / (suffix == 0 ? name : stem + "-" + std::to_string(suffix) + ".json");
        if (::link(tmp.c_str(), final_path.c_str()) == 0) break;
        if (errno != EEXIST || suffix >= 1000) {
            const int err = errno;
            ::unlink(tmp.c_str());
            fail("create", final_path, err);
        }
    }
    ::unlink(tmp.c_str());

    const fs::path index = directory_ / "index.jsonl";
    {
        Fd fd(::open(index.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
        if (fd.get() < 0) fail("open", index, errno);
        write_all(fd.get(), control::to_json(result).dump() + "\n", index);
        if (::fsync(fd.get()) != 0) fail("fsync", index, errno);
    }
    fsync_dir(directory_);
    return final_path;
}

}  // namespace benchdist::coordinator
