// DecodeError: the one error type of the BSATN layer. Every failed read says
// where in the input it happened and what the reader expected there, so a
// truncated or corrupt frame can be diagnosed from a log line alone.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace benchdist::bsatn {

class DecodeError : public std::runtime_error {
public:
    DecodeError(std::size_t offset, const std::string& what_expected)
        : std::runtime_error("BSATN decode error at byte " + std::to_string(offset) + ": " + what_expected),
          offset_(offset) {}

    // Byte offset into the buffer the Reader was given.
    std::size_t offset() const noexcept { return offset_; }

private:
    std::size_t offset_;
};

}  // namespace benchdist::bsatn
