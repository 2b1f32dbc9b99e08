// Zipf samplers that pick which accounts a transfer touches: rank 0 is the
// hottest account and P(rank k) is proportional to 1/(k+1)^alpha.
// ZipfSampler is the default: an exact Zipf distribution for every N (rejection-
// inversion, O(1) memory) driven by xoshiro256** with a configurable seed.
// HarnessZipfSampler reproduces the original TypeScript harness's zipfSampler
// draw for draw, including its flaws (one shared seed, a CDF table for
// N <= 100000 and a rejection method for larger N that is NOT Zipf-distributed:
// at N = 10^6, alpha = 1.5 it draws rank 0 about 10.8% of the time instead of
// 38.3%). It exists only so old runs can be replayed exactly.
#pragma once

#include <cstdint>
#include <vector>

#include "benchdist/generator/harness_rng.hpp"
#include "benchdist/generator/xoshiro256.hpp"

namespace benchdist::generator {

class HarnessZipfSampler {
public:
    enum class Method { uniform, cdf, rejection };

    // Largest N for which the harness built a CDF table.
    static constexpr std::uint32_t kMaxCdfAccounts = 100'000;

    // Throws std::invalid_argument if n == 0 or alpha is NaN.
    HarnessZipfSampler(std::uint32_t n, double alpha, std::uint32_t seed = HarnessRng::kDefaultSeed);

    std::uint32_t operator()() { return next(); }
    std::uint32_t next();

    Method method() const { return method_; }
    std::uint32_t size() const { return n_; }

private:
    std::uint32_t next_cdf();
    std::uint32_t next_rejection();

    HarnessRng rng_;
    std::uint32_t n_;
    double alpha_;
    Method method_;
    std::vector<double> cdf_;  // only for Method::cdf
    double zeta_ = 0.0;        // only for Method::rejection
};

class ZipfSampler {
public:
    // Deliberately different from the harness seed, so nobody mistakes a
    // default-mode stream for a replay of the original.
    static constexpr std::uint64_t kDefaultSeed = 0x5a17'f00d'2b4e'9c31ULL;

    // alpha <= 0 means uniform. Throws std::invalid_argument if n == 0 or
    // alpha is not finite.
    ZipfSampler(std::uint32_t n, double alpha, std::uint64_t seed = kDefaultSeed);

    std::uint32_t operator()() { return next(); }
    std::uint32_t next();

    std::uint32_t size() const { return n_; }
    double alpha() const { return alpha_; }

private:
    // Rejection-inversion (Hoermann & Derflinger 1996) over ranks 1..n works
    // with the integral H of h(x) = x^-alpha; the helpers stay accurate when
    // alpha is at or near 1 where the closed forms divide by ~0.
    double h(double x) const;
    double big_h(double x) const;
    double big_h_inverse(double y) const;

    Xoshiro256StarStar rng_;
    std::uint32_t n_;
    double alpha_;
    bool uniform_;
    double one_minus_alpha_ = 0.0;
    double h_integral_x1_ = 0.0;  // H(1.5) - h(1): rank 1 gets an interval of length exactly h(1)
    double h_integral_n_ = 0.0;   // H(n + 0.5)
    double squeeze_ = 0.0;        // accept at once when k - x <= squeeze_
};

}  // namespace benchdist::generator
