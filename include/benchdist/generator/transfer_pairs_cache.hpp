// The transfer pairs each epoch walks. An epoch may ask for another alpha or
// number of accounts than the command line's; its pairs are then computed
// before its load starts (so before /started: the start barrier waits for
// them) and kept, so that the next epoch with the same values -- a campaign
// going back and forth over a grid -- does not compute them again. At most
// two sets are held, each as large as --pairs: the command line's and the
// last other one. A set is immutable once made and shared, so one that a
// session still walks outlives its eviction here: pairs in use are never
// changed.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "benchdist/generator/transfer_pairs.hpp"

namespace benchdist::generator {

class TransferPairsCache {
public:
    // `base_pairs`: the pairs already computed from `base` (the command line's).
    TransferPairsCache(TransferPairsOptions base, std::shared_ptr<const TransferPairs> base_pairs);

    struct Found {
        std::shared_ptr<const TransferPairs> pairs;
        bool computed = false;              // made by this call
        std::chrono::milliseconds took{0};  // how long that took (0 when found)
    };
    // The pairs for this alpha and number of accounts, every other option
    // (count, mode, seed) the command line's. Throws std::invalid_argument as
    // TransferPairs does (a non-finite alpha, no accounts).
    Found get(double alpha, std::uint32_t accounts);

private:
    struct Entry {
        double alpha = 0;
        std::uint32_t accounts = 0;
        std::shared_ptr<const TransferPairs> pairs;
        bool holds(double a, std::uint32_t n) const { return pairs && alpha == a && accounts == n; }
    };
    TransferPairsOptions base_;
    Entry command_line_;
    Entry other_;
};

}  // namespace benchdist::generator
