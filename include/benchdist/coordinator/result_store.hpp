// Where epoch results end up: one pretty-printed JSON file per epoch, named as
// the original harness named them, plus one compact line per epoch in
// index.jsonl for scripts that want every run at once. A result is the only
// thing an epoch leaves behind, so it is written crash-safely (temp file,
// fsync, atomic link into place, directory fsync) and never overwrites an
// existing file: a clash gets a numeric suffix instead.
#pragma once

#include <filesystem>
#include <string>

#include "benchdist/control/protocol.hpp"

namespace benchdist::coordinator {

class ResultStore {
public:
    explicit ResultStore(std::filesystem::path directory);

    // `<test>-<connector>-epoch-<NNN>-<finishedAt with ':' and '.' as '-'>.json`.
    static std::string file_name(const control::EpochResult& result);

    // Creates the directory (recursively) when needed, writes the file and
    // appends to index.jsonl. Returns the path written. Throws
    // std::runtime_error naming the path and the OS error.
    std::filesystem::path write(const control::EpochResult& result) const;

    const std::filesystem::path& directory() const { return directory_; }

private:
    std::filesystem::path directory_;
};

}  // namespace benchdist::coordinator
