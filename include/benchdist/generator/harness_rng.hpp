// HarnessRng is the original keynote harness's PRNG (mulberry32 as written in
// JavaScript), kept only so the compatibility mode can replay the exact
// transfer sequences the TypeScript generator sent. JavaScript keeps the
// state in a double and never reduces it modulo 2^32, so once the state
// passes 2^53 (PRNG call 4,917,760) the additions round and the stream
// departs from a textbook uint32 mulberry32; reproducing the harness means
// doing the same double arithmetic here. New workloads should use
// Xoshiro256StarStar instead.
#pragma once

#include <cmath>
#include <cstdint>

namespace benchdist::generator {

class HarnessRng {
public:
    static constexpr std::uint32_t kDefaultSeed = 0x12345678U;

    explicit HarnessRng(std::uint32_t seed = kDefaultSeed) : state_(static_cast<double>(seed)) {}

    // The 32-bit numerator of the next output (next() == next_uint32() / 2^32).
    std::uint32_t next_uint32() {
        state_ += 1831565813.0;  // 0x6d2b79f5, deliberately in double precision
        const std::uint32_t t = low_32_bits(state_);
        std::uint32_t r = (t ^ (t >> 15U)) * (t | 1U);
        r ^= r + (r ^ (r >> 7U)) * (r | 61U);
        return r ^ (r >> 14U);
    }

    // A double in [0, 1), exactly what the harness's rng.next() returned.
    double next() { return static_cast<double>(next_uint32()) / 4294967296.0; }

    // The raw double state, exposed so tests can check the 2^53 behaviour.
    double state() const { return state_; }

private:
    // JavaScript's ToUint32 of a non-negative integral double: the exact value
    // modulo 2^32. The integer cast is exact below 2^64 and far cheaper than
    // fmod, which is only needed after ~10^10 draws.
    static std::uint32_t low_32_bits(double v) {
        if (v < 18446744073709551616.0) {
            return static_cast<std::uint32_t>(static_cast<std::uint64_t>(v));
        }
        return static_cast<std::uint32_t>(std::fmod(v, 4294967296.0));
    }

    double state_;
};

}  // namespace benchdist::generator
