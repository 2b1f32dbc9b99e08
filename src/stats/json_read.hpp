// Private to the stats component: strict reads of JSON fields that arrive
// from other machines, so every rejection names the key that was wrong.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace benchdist::stats::detail {

[[noreturn]] inline void bad_field(std::string_view where, std::string_view key, std::string_view what) {
    throw std::invalid_argument(std::string(where) + ": \"" + std::string(key) + "\" " + std::string(what));
}

inline const nlohmann::ordered_json& field(const nlohmann::ordered_json& j, std::string_view where,
                                           std::string_view key) {
    if (!j.is_object()) throw std::invalid_argument(std::string(where) + ": expected a JSON object");
    const auto it = j.find(key);
    if (it == j.end()) bad_field(where, key, "is missing");
    return *it;
}

inline std::uint64_t as_u64(const nlohmann::ordered_json& v, std::string_view where, std::string_view key) {
    if (!v.is_number_unsigned()) {
        // nlohmann stores non-negative literals as unsigned; a signed
        // integer here is negative, and floats are never counts.
        if (!(v.is_number_integer() && v.get<std::int64_t>() >= 0))
            bad_field(where, key, "must be a non-negative integer");
    }
    return v.get<std::uint64_t>();
}

inline std::int64_t as_i64(const nlohmann::ordered_json& v, std::string_view where, std::string_view key) {
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(INT64_MAX)) bad_field(where, key, "is out of range");
        return static_cast<std::int64_t>(u);
    }
    if (!v.is_number_integer()) bad_field(where, key, "must be an integer");
    return v.get<std::int64_t>();
}

inline std::uint64_t u64_field(const nlohmann::ordered_json& j, std::string_view where, std::string_view key) {
    return as_u64(field(j, where, key), where, key);
}

inline std::int64_t i64_field(const nlohmann::ordered_json& j, std::string_view where, std::string_view key) {
    return as_i64(field(j, where, key), where, key);
}

}  // namespace benchdist::stats::detail
