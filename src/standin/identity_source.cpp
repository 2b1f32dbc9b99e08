#include "benchdist/standin/identity_source.hpp"

#include <random>

namespace benchdist::standin {

IdentitySource IdentitySource::from_entropy() {
    std::random_device rd;
    const std::uint64_t seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    return IdentitySource(seed);
}

// splitmix64: tiny, well mixed, and good enough for identifiers that only
// need to be distinct, not secret.
std::uint64_t IdentitySource::next_word() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

bsatn::U256 IdentitySource::next() {
    bsatn::U256 id;
    // le[31] and le[30] are the most significant bytes: they print first.
    for (std::size_t word = 0; word < 4; ++word) {
        const std::uint64_t bits = next_word();
        for (std::size_t b = 0; b < 8; ++b) id.le[word * 8 + b] = static_cast<std::uint8_t>(bits >> (8 * b));
    }
    id.le[31] = 0xc2;
    id.le[30] = 0x00;
    return id;
}

bool is_local_identity(const bsatn::U256& identity) { return identity.le[31] == 0xc2 && identity.le[30] == 0x00; }

}  // namespace benchdist::standin
