// Identities for stdb-standin: database, owner and anonymous client
// identities minted the way a local SpacetimeDB mints them, so clients that
// sanity-check identities (64 hex digits, the local "c200" prefix, little-endian
// on the wire) treat the stand-in exactly like a real server. A seeded source
// gives the same sequence every run, which keeps tests and demo output
// reproducible; an entropy-seeded one gives fresh identities per process.
#pragma once

#include <cstdint>

#include "benchdist/bsatn/wide_int.hpp"

namespace benchdist::standin {

class IdentitySource {
public:
    // Deterministic: the same seed yields the same identities in the same order.
    explicit IdentitySource(std::uint64_t seed) : state_(seed) {}
    // Seeded from std::random_device.
    static IdentitySource from_entropy();

    // Big-endian hex "c200" followed by 60 pseudo-random hex digits.
    bsatn::U256 next();

private:
    std::uint64_t next_word();

    std::uint64_t state_;
};

// True if the identity prints with the "c200" prefix of locally minted ones.
bool is_local_identity(const bsatn::U256& identity);

}  // namespace benchdist::standin
