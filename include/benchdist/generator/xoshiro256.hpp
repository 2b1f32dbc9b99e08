// The generator's default PRNG: xoshiro256** (Blackman & Vigna), seeded by
// expanding a single 64-bit seed with splitmix64. It is fast, has a 2^256-1
// period and passes the usual statistical batteries, which the harness's
// mulberry32 (32-bit state, degraded after 2^53) does not. Seeds are 64-bit
// so every generator process and worker can draw from its own stream instead
// of all replaying one sequence as the original harness did.
#pragma once

#include <bit>
#include <cstdint>

namespace benchdist::generator {

// splitmix64: used to turn one seed into well-mixed xoshiro state (and usable
// on its own for deriving per-worker seeds from a base seed).
class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31U);
    }

private:
    std::uint64_t state_;
};

class Xoshiro256StarStar {
public:
    explicit Xoshiro256StarStar(std::uint64_t seed) {
        // splitmix64 never yields four zero words from one seed, so the
        // all-zero state (a fixed point of xoshiro) cannot occur.
        SplitMix64 mix(seed);
        for (auto& word : s_) {
            word = mix.next();
        }
    }

    std::uint64_t next_u64() {
        const std::uint64_t result = std::rotl(s_[1] * 5U, 7) * 9U;
        const std::uint64_t t = s_[1] << 17U;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = std::rotl(s_[3], 45);
        return result;
    }

    // Uniform in [0, 1) with the full 53-bit mantissa resolution.
    double next_double() { return static_cast<double>(next_u64() >> 11U) * 0x1.0p-53; }

    // Uniform integer in [0, bound) without modulo bias (Lemire's
    // multiply-and-reject); bound must be > 0.
    std::uint32_t uniform_below(std::uint32_t bound) {
        std::uint64_t product = (next_u64() >> 32U) * static_cast<std::uint64_t>(bound);
        auto low = static_cast<std::uint32_t>(product);
        if (low < bound) {
            const std::uint32_t threshold = (0U - bound) % bound;
            while (low < threshold) {
                product = (next_u64() >> 32U) * static_cast<std::uint64_t>(bound);
                low = static_cast<std::uint32_t>(product);
            }
        }
        return static_cast<std::uint32_t>(product >> 32U);
    }

private:
    std::uint64_t s_[4]{};
};

}  // namespace benchdist::generator
