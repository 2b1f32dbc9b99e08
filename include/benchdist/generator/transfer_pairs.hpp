// TransferPairs is the generator's precomputed workload: `count` (from, to)
// account pairs drawn up front so the load loop does no sampling, stored as
// two u32 arrays like the original harness (BENCH_PRECOMPUTED_TRANSFER_PAIRS,
// default 10,000,000 = 80 MB). PairMode::harness replays the original
// TypeScript sequence exactly; PairMode::zipf (the default) draws from a
// correct Zipf distribution with a configurable seed. PairCursor implements
// the harness's per-worker walk: worker w of c starts at
// w * max(1, floor(count / c)) and advances one pair per operation, wrapping
// at `count` (not at the end of its own slice).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "benchdist/generator/pick_two_distinct.hpp"

namespace benchdist::generator {

inline constexpr std::size_t kDefaultPrecomputedTransferPairs = 10'000'000;

enum class PairMode {
    harness,  // exact original sequence (mulberry32 + the harness's zipfSampler)
    zipf,     // exact Zipf via rejection-inversion, xoshiro256** seeded by `seed`
};

// "harness" / "zipf", for flags, logs and result files.
std::string_view pair_mode_name(PairMode mode);
std::optional<PairMode> parse_pair_mode(std::string_view text);

struct TransferPairsOptions {
    std::uint32_t accounts = 100'000;
    double alpha = 1.5;
    std::size_t count = kDefaultPrecomputedTransferPairs;
    PairMode mode = PairMode::zipf;
    // PairMode::zipf: the 64-bit xoshiro seed (ZipfSampler::kDefaultSeed when
    // unset). PairMode::harness: only the low 32 bits are used, as JavaScript's
    // `seed >>> 0` did (0x12345678 when unset, which is what the harness used).
    std::optional<std::uint64_t> seed;
    int max_spins = kDefaultMaxSpins;
};

class TransferPairs {
public:
    // Throws std::invalid_argument for count == 0, accounts == 0, a
    // non-finite alpha, or max_spins < 0.
    explicit TransferPairs(const TransferPairsOptions& options);

    std::size_t size() const { return from_.size(); }
    TransferPair operator[](std::size_t i) const { return {from_[i], to_[i]}; }
    std::span<const std::uint32_t> from() const { return from_; }
    std::span<const std::uint32_t> to() const { return to_; }

private:
    std::vector<std::uint32_t> from_;
    std::vector<std::uint32_t> to_;
};

// max(1, floor(count / concurrency)). Throws std::invalid_argument if
// concurrency == 0.
std::size_t pairs_per_worker(std::size_t count, std::size_t concurrency);

// Where worker `worker` (0-based, < concurrency) starts: worker *
// pairs_per_worker, reduced modulo count. The harness never reduced it (with
// more workers than pairs it indexed past the arrays); wrapping keeps every
// worker on real pairs. Throws std::invalid_argument for worker >= concurrency,
// concurrency == 0 or count == 0.
std::size_t worker_start_index(std::size_t worker, std::size_t concurrency, std::size_t count);

// One worker's position in the shared pairs. Non-owning: the TransferPairs
// must outlive it. Cheap to copy, no allocation, not thread-safe (one per
// worker).
class PairCursor {
public:
    PairCursor(const TransferPairs& pairs, std::size_t worker, std::size_t concurrency);

    // The pair at the current position; then advances, wrapping at size().
    TransferPair next() {
        const TransferPair pair = (*pairs_)[position_];
        if (++position_ == pairs_->size()) {
            position_ = 0;
        }
        return pair;
    }

    // Back to the worker's initial index (every epoch starts there).
    void reset() { position_ = start_; }

    std::size_t start() const { return start_; }
    std::size_t position() const { return position_; }

private:
    const TransferPairs* pairs_;
    std::size_t start_;
    std::size_t position_;
};

}  // namespace benchdist::generator
