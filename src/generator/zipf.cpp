#include "benchdist/generator/zipf.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

// Replaying the harness bit for bit needs every multiply and add rounded on
// its own, as JavaScript does: no fused multiply-add. GCC does not contract in
// ISO C++ mode (the build sets CMAKE_CXX_EXTENSIONS OFF); Clang may when FMA
// is available (-march=native), so turn it off here.
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

namespace benchdist::generator {

namespace {

void require_accounts(std::uint32_t n, const char* who) {
    if (n == 0) {
        throw std::invalid_argument(std::string(who) + ": the number of accounts must be at least 1");
    }
}

}  // namespace

// ---------------------------------------------------------------------------
// HarnessZipfSampler. Every expression below keeps the operation order of the
// TypeScript original: a different but mathematically equal order changes the
// last bits of the CDF or acceptance ratio and with them the replayed pairs.

HarnessZipfSampler::HarnessZipfSampler(std::uint32_t n, double alpha, std::uint32_t seed)
    : rng_(seed), n_(n), alpha_(alpha) {
    require_accounts(n, "HarnessZipfSampler");
    if (std::isnan(alpha)) {
        throw std::invalid_argument("HarnessZipfSampler: alpha must be a number");
    }
    if (alpha <= 0.0) {
        method_ = Method::uniform;
        return;
    }
    const double s = alpha;
    if (n <= kMaxCdfAccounts) {
        method_ = Method::cdf;
        // Kahan-compensated normaliser, then a second compensated pass for the
        // running CDF, as the harness does.
        double sum = 0.0;
        double c = 0.0;
        for (std::uint32_t i = 0; i < n; ++i) {
            const double p = 1.0 / std::pow(static_cast<double>(i) + 1.0, s);
            const double y = p - c;
            const double t = sum + y;
            c = (t - sum) - y;
            sum = t;
        }
        cdf_.resize(n);
        double cumulative = 0.0;
        double comp = 0.0;
        for (std::uint32_t i = 0; i < n; ++i) {
            const double p = 1.0 / std::pow(static_cast<double>(i) + 1.0, s) / sum;
            const double y = p - comp;
            const double t = cumulative + y;
            comp = (t - cumulative) - y;
            cumulative = t;
            cdf_[i] = cumulative;
        }
        cdf_[n - 1] = 1.0;
        return;
    }
    method_ = Method::rejection;
    const double nd = static_cast<double>(n);
    if (s == 1.0) {
        zeta_ = std::log(nd) + 0.5772156649;
    } else {
        // n > kMaxCdfAccounts here, so the integral tail always applies.
        double sum = 0.0;
        for (std::uint32_t i = 1; i <= 1000; ++i) {
            sum += 1.0 / std::pow(static_cast<double>(i), s);
        }
        sum += (std::pow(1000.0, 1.0 - s) - std::pow(nd, 1.0 - s)) / (s - 1.0);
        zeta_ = sum;
    }
}

std::uint32_t HarnessZipfSampler::next() {
    switch (method_) {
        case Method::uniform:
            return static_cast<std::uint32_t>(std::floor(rng_.next() * static_cast<double>(n_)));
        case Method::cdf:
            return next_cdf();
        case Method::rejection:
            return next_rejection();
    }
    return 0;
}

std::uint32_t HarnessZipfSampler::next_cdf() {
    const double u = rng_.next();
    std::uint32_t lo = 0;
    std::uint32_t hi = n_ - 1;
    while (lo < hi) {
        const std::uint32_t mid = (lo + hi) >> 1U;
        if (cdf_[mid] < u) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

std::uint32_t HarnessZipfSampler::next_rejection() {
    const double s = alpha_;
    const double nd = static_cast<double>(n_);
    for (;;) {
        const double u = rng_.next();
        double x = 0.0;
        if (s == 1.0) {
            x = std::exp(u * std::log(nd));
        } else {
            const double term = std::pow(nd, 1.0 - s) * u + (1.0 - u);
            x = std::pow(term, 1.0 / (1.0 - s));
        }
        const double k = std::floor(x);
        if (k < 1.0 || k > nd) {
            continue;
        }
        const double px = 1.0 / (std::pow(k, s) * zeta_);
        // The harness's proposal density; its normaliser and "envelope" M are
        // both evaluated but M is pow(N, 0) == 1.
        const double proposal = (s / (1.0 - std::pow(nd + 1.0, -s))) * std::pow(k, -s - 1.0);
        const double accept = px / (1.0 * proposal);
        if (rng_.next() <= accept) {
            return static_cast<std::uint32_t>(k) - 1U;
        }
    }
}

// ---------------------------------------------------------------------------
// ZipfSampler: rejection-inversion. Each rank k in 2..n owns the interval
// [H(k - 1/2), H(k + 1/2)] of the continuous envelope; because h is convex that
// interval is at least h(k) long, and accepting only its top h(k) gives rank k
// probability exactly proportional to h(k). Rank 1's interval is cut to length
// h(1) up front, so every draw is exact and no table is needed.

namespace {

// expm1(t) / t, continuous at t == 0.
double expm1_ratio(double t) {
    if (std::fabs(t) > 1e-8) {
        return std::expm1(t) / t;
    }
    return 1.0 + t * 0.5 * (1.0 + t / 3.0 * (1.0 + t * 0.25));
}

// log1p(t) / t, continuous at t == 0.
double log1p_ratio(double t) {
    if (std::fabs(t) > 1e-8) {
        return std::log1p(t) / t;
    }
    return 1.0 - t * (0.5 - t * (1.0 / 3.0 - t * 0.25));
}

}  // namespace

ZipfSampler::ZipfSampler(std::uint32_t n, double alpha, std::uint64_t seed)
    : rng_(seed), n_(n), alpha_(alpha), uniform_(alpha <= 0.0) {
    require_accounts(n, "ZipfSampler");
    if (!std::isfinite(alpha)) {
        throw std::invalid_argument("ZipfSampler: alpha must be a finite number");
    }
    if (uniform_) {
        return;
    }
    one_minus_alpha_ = 1.0 - alpha;
    h_integral_x1_ = big_h(1.5) - 1.0;
    h_integral_n_ = big_h(static_cast<double>(n) + 0.5);
    squeeze_ = 2.0 - big_h_inverse(big_h(2.5) - h(2.0));
}

double ZipfSampler::h(double x) const { return std::exp(-alpha_ * std::log(x)); }

// (x^(1-alpha) - 1) / (1 - alpha), or log(x) when alpha == 1.
double ZipfSampler::big_h(double x) const {
    const double log_x = std::log(x);
    return expm1_ratio(one_minus_alpha_ * log_x) * log_x;
}

double ZipfSampler::big_h_inverse(double y) const {
    // Rounding can push y a hair below H's range when alpha < 1; clamping
    // keeps log1p finite and maps such draws to rank 1, where they belong.
    const double t = std::max(-1.0, y * one_minus_alpha_);
    return std::exp(log1p_ratio(t) * y);
}

std::uint32_t ZipfSampler::next() {
    if (uniform_) {
        return rng_.uniform_below(n_);
    }
    const double n = static_cast<double>(n_);
    for (;;) {
        // u runs over (H(1.5) - 1, H(n + 0.5)].
        const double u = h_integral_n_ + rng_.next_double() * (h_integral_x1_ - h_integral_n_);
        const double x = big_h_inverse(u);
        const double k = std::clamp(std::floor(x + 0.5), 1.0, n);
        if (k - x <= squeeze_ || u >= big_h(k + 0.5) - h(k)) {
            return static_cast<std::uint32_t>(k) - 1U;
        }
    }
}

}  // namespace benchdist::generator
