#include "server_context.hpp"

#include "auth_token.hpp"

namespace benchdist::standin {

DatabaseHost* ServerContext::find(std::string_view name_or_identity) const {
    // SpacetimeDB first tries the segment as an identity in hex.
    bsatn::U256 id;
    std::string_view hex = name_or_identity;
    if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
    if (hex.size() == 64 && bsatn::U256::from_hex_be(hex, id)) {
        for (const auto& h : hosts) {
            if (h->identity_hex() == id.to_hex_be()) return h.get();
        }
        return nullptr;
    }
    for (const auto& h : hosts) {
        if (h->name() == name_or_identity) return h.get();
    }
    return nullptr;
}

CallerAuth authenticate(ServerContext& ctx, std::optional<std::string_view> authorization_header,
                        std::optional<std::string> token_query) {
    CallerAuth out;
    std::optional<std::string> token;
    if (authorization_header) {
        constexpr std::string_view bearer = "Bearer ";
        const std::string_view h = *authorization_header;
        if (h.size() <= bearer.size() || h.substr(0, bearer.size()) != bearer) {
            out.error_status = 400;
            out.error = "Authorization is invalid: malformed token";
            return out;
        }
        token = std::string(h.substr(bearer.size()));
    } else if (token_query && !token_query->empty()) {
        token = std::move(token_query);
    }
    if (!token) {
        if (ctx.options.require_token) {
            out.error_status = 401;
            out.error =
                "Unauthorized: this stdb-standin runs with --require-token; send \"Authorization: Bearer "
                "<token>\" (get a token from POST /v1/identity)";
            return out;
        }
        out.identity = ctx.mint_identity();
        out.token = mint_token(out.identity);
        return out;
    }
    const auto id = identity_from_token(*token);
    if (!id) {
        out.error_status = 401;
        out.error = "InvalidToken: this token was not issued by this stdb-standin (get one from POST /v1/identity)";
        return out;
    }
    out.identity = *id;
    out.token = *token;
    return out;
}

}  // namespace benchdist::standin
