#include "benchdist/generator/transfer_pairs.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "benchdist/generator/zipf.hpp"

namespace benchdist::generator {

namespace {

template <typename Sampler>
void fill_pairs(Sampler& sampler, int max_spins, std::vector<std::uint32_t>& from, std::vector<std::uint32_t>& to) {
    for (std::size_t i = 0; i < from.size(); ++i) {
        const TransferPair pair = pick_two_distinct(sampler, max_spins);
        from[i] = pair.from;
        to[i] = pair.to;
    }
}

}  // namespace

std::string_view pair_mode_name(PairMode mode) {
    switch (mode) {
        case PairMode::harness:
            return "harness";
        case PairMode::zipf:
            return "zipf";
    }
    return "unknown";
}

std::optional<PairMode> parse_pair_mode(std::string_view text) {
    if (text == "harness") {
        return PairMode::harness;
    }
    if (text == "zipf") {
        return PairMode::zipf;
    }
    return std::nullopt;
}

TransferPairs::TransferPairs(const TransferPairsOptions& options) {
    if (options.count == 0) {
        throw std::invalid_argument("TransferPairs: the number of precomputed pairs must be at least 1");
    }
    if (options.max_spins < 0) {
        throw std::invalid_argument("TransferPairs: max_spins must not be negative, got " +
                                    std::to_string(options.max_spins));
    }
    if (!std::isfinite(options.alpha)) {
        throw std::invalid_argument("TransferPairs: alpha must be a finite number");
    }
    // Build the sampler before allocating 2 x count x 4 bytes, so bad
    // accounts fail fast.
    if (options.mode == PairMode::harness) {
        const auto seed = static_cast<std::uint32_t>(options.seed.value_or(HarnessRng::kDefaultSeed));
        HarnessZipfSampler sampler(options.accounts, options.alpha, seed);
        from_.resize(options.count);
        to_.resize(options.count);
        fill_pairs(sampler, options.max_spins, from_, to_);
    } else {
        ZipfSampler sampler(options.accounts, options.alpha, options.seed.value_or(ZipfSampler::kDefaultSeed));
        from_.resize(options.count);
        to_.resize(options.count);
        fill_pairs(sampler, options.max_spins, from_, to_);
    }
}

std::size_t pairs_per_worker(std::size_t count, std::size_t concurrency) {
    if (concurrency == 0) {
        throw std::invalid_argument("pairs_per_worker: concurrency must be at least 1");
    }
    return std::max<std::size_t>(1, count / concurrency);
}

std::size_t worker_start_index(std::size_t worker, std::size_t concurrency, std::size_t count) {
    if (count == 0) {
        throw std::invalid_argument("worker_start_index: there are no pairs to walk");
    }
    const std::size_t per_worker = pairs_per_worker(count, concurrency);
    if (worker >= concurrency) {
        throw std::invalid_argument("worker_start_index: worker " + std::to_string(worker) +
                                    " is out of range for concurrency " + std::to_string(concurrency));
    }
    // worker * per_worker <= max(count, concurrency): it cannot overflow.
    return (worker * per_worker) % count;
}

PairCursor::PairCursor(const TransferPairs& pairs, std::size_t worker, std::size_t concurrency)
    : pairs_(&pairs), start_(worker_start_index(worker, concurrency, pairs.size())), position_(start_) {}

}  // namespace benchdist::generator
