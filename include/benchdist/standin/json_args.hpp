// Reducer arguments as HTTP /call/{reducer} sends them: JSON, either an array
// in parameter order or an object keyed by parameter name. The TypeScript
// module names seed's second parameter `initialBalance` while the Rust module
// says `initial_balance`, so both are accepted. Errors read like SpacetimeDB's
// serde-based ones (a path such as "[1]", then "invalid type: string \"x\",
// expected u32"); the server prefixes them with
// "invalid arguments for reducer <name>: " (invalid_arguments_message).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "benchdist/stdb/transfer_module.hpp"

namespace benchdist::standin {

template <typename Args>
struct JsonArgsResult {
    std::optional<Args> args;  // set on success
    std::string error;         // the detail, without the "invalid arguments..." prefix
    bool ok() const { return args.has_value(); }
};

JsonArgsResult<stdb::transfer::TransferArgs> transfer_args_from_json(const nlohmann::json& json);
JsonArgsResult<stdb::transfer::SeedArgs> seed_args_from_json(const nlohmann::json& json);

// "invalid arguments for reducer <reducer>: <detail>" — SpacetimeDB's text for
// arguments that do not match the signature (HTTP 400, v2 InternalError).
std::string invalid_arguments_message(std::string_view reducer, std::string_view detail);

}  // namespace benchdist::standin
