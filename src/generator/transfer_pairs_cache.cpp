#include "benchdist/generator/transfer_pairs_cache.hpp"

#include <utility>

namespace benchdist::generator {

TransferPairsCache::TransferPairsCache(TransferPairsOptions base, std::shared_ptr<const TransferPairs> base_pairs)
    : base_(std::move(base)), command_line_{base_.alpha, base_.accounts, std::move(base_pairs)} {}

TransferPairsCache::Found TransferPairsCache::get(double alpha, std::uint32_t accounts) {
    if (command_line_.holds(alpha, accounts)) return {command_line_.pairs};
    if (other_.holds(alpha, accounts)) return {other_.pairs};
    TransferPairsOptions options = base_;
    options.alpha = alpha;
    options.accounts = accounts;
    const auto begin = std::chrono::steady_clock::now();
    // Dropped first, so at most two sets are held while the new one is made
    // (unless a session still walks it).
    other_ = Entry{};
    auto pairs = std::make_shared<const TransferPairs>(options);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
    other_ = Entry{alpha, accounts, pairs};
    return {std::move(pairs), true, took};
}

}  // namespace benchdist::generator
