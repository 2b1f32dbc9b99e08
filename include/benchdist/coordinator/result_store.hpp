// Where epoch results end up: one pretty-printed JSON file per epoch, named as
// the original harness named them, plus one compact line per epoch in
// index.jsonl for scripts that want every run at once. A result is the only
// thing an epoch leaves behind, so it is written crash-safely (temp file,
// fsync, atomic link into place, directory fsync) and never overwrites an
// existing file: a clash gets a numeric suffix instead. A coordinator killed
// at any point leaves every finished result whole; at worst a hidden
// `.<name>.tmp-<pid>` file (never a *.json result) and, after a power loss, one
// torn last line in index.jsonl that readers skip.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"

namespace benchdist::coordinator {

class ResultStore {
public:
    explicit ResultStore(std::filesystem::path directory);

    // `<test>-<connector>-epoch-<NNN>-<finishedAt with ':' and '.' as '-'>.json`.
    static std::string file_name(const control::EpochResult& result);

    // True for the names of write()'s temporary files (`.<name>.tmp-<pid>`),
    // which a killed writer can leave behind; they are never results.
    static bool is_temporary(const std::string& file_name);

    // Creates the directory (recursively) when needed, writes the file and
    // appends to index.jsonl. Returns the path written. Throws
    // std::runtime_error naming the path and the OS error, starting
    // "result file not written: " when no result file exists, or "result
    // file <path> written but not added to index.jsonl: " when only the
    // index failed. A failed write removes its temporary file.
    //
    // Test hook: with BENCHDIST_TEST_RESULT_PAUSE_MS=N in the environment
    // (read by the constructor), write() prints a line to stderr and waits N
    // ms between the fsynced temporary file and linking it into place, so a
    // test can kill the process in exactly that gap.
    std::filesystem::path write(const control::EpochResult& result) const;

    const std::filesystem::path& directory() const { return directory_; }

    // Reading the history back (the dashboard's GET /admin/results): the
    // results of index.jsonl, newest first, at most `limit` of them, each
    // the JSON object of its line (the result file's content). The file is
    // read from its end, so the cost follows `limit`, not the length of the
    // history. A line that is not a JSON object -- torn by a crash, or still
    // being appended -- is skipped. No index (nothing written yet): empty.
    // Throws std::runtime_error naming the file when it cannot be read.
    std::vector<control::Json> recent(std::size_t limit) const;
    // The newest result of epoch `epoch` in index.jsonl, or nullopt. Epoch
    // numbers start again at 1 when a coordinator restarts on the same
    // directory; the newest is the one its last run wrote.
    std::optional<control::Json> find(std::uint64_t epoch) const;

private:
    // After `<name>-1000.json`, a clash is an error rather than a longer search.
    static constexpr int kMaxNameSuffix = 1000;

    void create_directory() const;
    // The temporary file, fsynced and linked to a free result name (returned).
    std::filesystem::path link_result_file(const control::EpochResult& result) const;
    void append_index_line(const std::string& line) const;

    std::filesystem::path directory_;
    long long pause_before_link_ms_ = 0;
};

// One line of the dashboard's epoch history for `result` (a result file's
// object): epoch, label, verdict (null from a coordinator without
// verdicts), tps, finishedAt, aborted, p50/p99 (us, null without latency),
// the codes of its reasons and its warnings' count. Missing keys are null.
control::Json history_entry(const control::Json& result);

}  // namespace benchdist::coordinator
