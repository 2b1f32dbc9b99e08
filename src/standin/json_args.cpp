#include "benchdist/standin/json_args.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <span>

#include <nlohmann/json.hpp>

#include "benchdist/standin/metrics_registry.hpp"

namespace benchdist::standin {

namespace {

enum class ParamType { U32, I64 };

struct Param {
    std::string_view name;
    std::string_view alt_name;  // another accepted spelling, "" if none
    ParamType type;
};

constexpr std::array<Param, 3> kTransferParams{{
    {"from", "", ParamType::U32},
    {"to", "", ParamType::U32},
    {"amount", "", ParamType::I64},
}};
constexpr std::array<Param, 2> kSeedParams{{
    {"n", "", ParamType::U32},
    {"initial_balance", "initialBalance", ParamType::I64},
}};

std::string_view type_name(ParamType t) { return t == ParamType::U32 ? "u32" : "i64"; }

std::string signature(std::span<const Param> params) {
    std::string s = "(";
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (i > 0) s += ", ";
        s += params[i].name;
        s += ": ";
        s += type_name(params[i].type);
    }
    return s + ")";
}

// serde's wording for the value that was found instead.
std::string unexpected(const nlohmann::json& v) {
    switch (v.type()) {
        case nlohmann::json::value_t::null:
            return "null";
        case nlohmann::json::value_t::boolean:
            return std::string("boolean `") + (v.get<bool>() ? "true" : "false") + "`";
        case nlohmann::json::value_t::string:
            return "string " + v.dump();
        case nlohmann::json::value_t::array:
            return "sequence";
        case nlohmann::json::value_t::object:
            return "map";
        case nlohmann::json::value_t::number_float: {
            std::string f = format_rust_f64(v.get<double>());
            if (f.find_first_of(".NnIi") == std::string::npos) f += ".0";
            return "floating point `" + f + "`";
        }
        case nlohmann::json::value_t::number_integer:
            return "integer `" + std::to_string(v.get<std::int64_t>()) + "`";
        case nlohmann::json::value_t::number_unsigned:
            return "integer `" + std::to_string(v.get<std::uint64_t>()) + "`";
        default:
            return "value";
    }
}

// One argument; returns "" on success, else the serde-like detail.
std::string decode_value(const nlohmann::json& v, ParamType type, std::int64_t& out) {
    const std::string expected = std::string(type_name(type));
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        constexpr auto max_u32 = std::uint64_t{std::numeric_limits<std::uint32_t>::max()};
        constexpr auto max_i64 = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        const std::uint64_t max = type == ParamType::U32 ? max_u32 : max_i64;
        if (u > max) return "invalid value: " + unexpected(v) + ", expected " + expected;
        out = static_cast<std::int64_t>(u);
        return {};
    }
    if (v.is_number_integer()) {
        const auto i = v.get<std::int64_t>();
        if (type == ParamType::U32 && (i < 0 || i > std::numeric_limits<std::uint32_t>::max()))
            return "invalid value: " + unexpected(v) + ", expected " + expected;
        out = i;
        return {};
    }
    return "invalid type: " + unexpected(v) + ", expected " + expected;
}

template <std::size_t N>
std::string decode_params(const nlohmann::json& json, const std::array<Param, N>& params,
                          std::array<std::int64_t, N>& values) {
    if (json.is_array()) {
        for (std::size_t i = 0; i < N && i < json.size(); ++i) {
            std::string err = decode_value(json[i], params[i].type, values[i]);
            if (!err.empty()) return "[" + std::to_string(i) + "]: " + err;
        }
        if (json.size() != N)
            return "invalid length " + std::to_string(json.size()) + ", expected " + std::to_string(N) + " arguments " +
                   signature(params);
        return {};
    }
    if (json.is_object()) {
        std::array<bool, N> seen{};
        for (const auto& [key, value] : json.items()) {
            std::size_t i = 0;
            while (i < N && key != params[i].name && (params[i].alt_name.empty() || key != params[i].alt_name)) ++i;
            if (i == N) {
                std::string err = "unknown field `" + key + "`, expected one of ";
                for (std::size_t j = 0; j < N; ++j) {
                    if (j > 0) err += ", ";
                    err += "`" + std::string(params[j].name) + "`";
                }
                return err;
            }
            if (seen[i]) return "duplicate field `" + std::string(params[i].name) + "`";
            seen[i] = true;
            std::string err = decode_value(value, params[i].type, values[i]);
            if (!err.empty()) return key + ": " + err;
        }
        for (std::size_t i = 0; i < N; ++i) {
            if (!seen[i]) return "missing field `" + std::string(params[i].name) + "`";
        }
        return {};
    }
    return "invalid type: " + unexpected(json) + ", expected a JSON array or object of arguments " + signature(params);
}

}  // namespace

JsonArgsResult<stdb::transfer::TransferArgs> transfer_args_from_json(const nlohmann::json& json) {
    std::array<std::int64_t, 3> v{};
    JsonArgsResult<stdb::transfer::TransferArgs> r;
    r.error = decode_params(json, kTransferParams, v);
    if (r.error.empty())
        r.args = stdb::transfer::TransferArgs{static_cast<std::uint32_t>(v[0]), static_cast<std::uint32_t>(v[1]), v[2]};
    return r;
}

JsonArgsResult<stdb::transfer::SeedArgs> seed_args_from_json(const nlohmann::json& json) {
    std::array<std::int64_t, 2> v{};
    JsonArgsResult<stdb::transfer::SeedArgs> r;
    r.error = decode_params(json, kSeedParams, v);
    if (r.error.empty()) r.args = stdb::transfer::SeedArgs{static_cast<std::uint32_t>(v[0]), v[1]};
    return r;
}

std::string invalid_arguments_message(std::string_view reducer, std::string_view detail) {
    std::string s = "invalid arguments for reducer ";
    s += reducer;
    s += ": ";
    s += detail;
    return s;
}

}  // namespace benchdist::standin
