// What integration tests look up in an epoch's result: a verdict reason by
// its code, and the whole result as text for a failure message.
#pragma once

#include <string>

#include "benchdist/control/protocol.hpp"

namespace benchdist::testing {

// The first reason with this code in the result's "reasons", or nullptr.
inline const control::Json* find_reason(const control::EpochResult& r, const std::string& code) {
    for (const auto& x : r.extra["reasons"])
        if (x["code"] == code) return &x;
    return nullptr;
}

inline std::string dump(const control::EpochResult& r) { return control::pretty(control::to_json(r)); }

}  // namespace benchdist::testing
