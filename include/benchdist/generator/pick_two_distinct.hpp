// pick_two_distinct draws the (from, to) accounts of one transfer from a rank
// sampler the way the original harness did: redraw `to` while it equals `from`,
// at most max_spins times. The bound keeps a degenerate distribution (one
// account, or an extremely steep alpha) from spinning forever; the rare pair
// with from == to that can remain is skipped by the workload.
#pragma once

#include <cstdint>

namespace benchdist::generator {

inline constexpr int kDefaultMaxSpins = 32;

struct TransferPair {
    std::uint32_t from = 0;
    std::uint32_t to = 0;

    friend bool operator==(const TransferPair&, const TransferPair&) = default;
};

// Sampler: anything callable as `std::uint32_t sampler()`. A template rather
// than std::function so the per-draw call inlines in the 10M-pair loop.
template <typename Sampler>
TransferPair pick_two_distinct(Sampler& sampler, int max_spins = kDefaultMaxSpins) {
    TransferPair pair;
    pair.from = sampler();
    pair.to = sampler();
    for (int spins = 0; pair.to == pair.from && spins < max_spins; ++spins) {
        pair.to = sampler();
    }
    return pair;
}

}  // namespace benchdist::generator
