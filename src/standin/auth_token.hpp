// Tokens of stdb-standin. A real SpacetimeDB mints a signed JWT per anonymous
// client; clients store it and present it again to keep their identity. The
// stand-in mints JWT-shaped tokens (header.payload.signature, base64url) whose
// payload carries the identity, so the SDK treats them like real ones, and it
// accepts back exactly the tokens it could have minted. Nothing is secret:
// the stand-in is a test server.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "benchdist/bsatn/wide_int.hpp"

namespace benchdist::standin {

std::string mint_token(const bsatn::U256& identity);

// The identity a token stands for; nullopt if it is not one of ours.
std::optional<bsatn::U256> identity_from_token(std::string_view token);

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace benchdist::standin
