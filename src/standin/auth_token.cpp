#include "auth_token.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

namespace benchdist::standin {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}
}  // namespace

std::string base64url_encode(std::string_view bytes) {
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char ch : bytes) {
        acc = (acc << 8) | static_cast<unsigned char>(ch);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(kAlphabet[(acc >> bits) & 63]);
        }
    }
    if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char c : text) {
        const int v = decode_char(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    return out;
}

std::string mint_token(const bsatn::U256& identity) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const nlohmann::json header = {{"typ", "JWT"}, {"alg", "none"}};
    const nlohmann::json payload = {{"hex_identity", identity.to_hex_be()},
                                    {"sub", identity.to_hex_be().substr(32)},
                                    {"iss", "stdb-standin"},
                                    {"aud", {"spacetimedb"}},
                                    {"iat", now},
                                    {"exp", nullptr}};
    return base64url_encode(header.dump()) + "." + base64url_encode(payload.dump()) + "." +
           base64url_encode("stdb-standin-unsigned");
}

std::optional<bsatn::U256> identity_from_token(std::string_view token) {
    const auto first = token.find('.');
    const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    const auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
    if (!payload) return std::nullopt;
    const auto json = nlohmann::json::parse(*payload, nullptr, false);
    if (!json.is_object() || json.value("iss", "") != "stdb-standin") return std::nullopt;
    const auto hex = json.find("hex_identity");
    if (hex == json.end() || !hex->is_string()) return std::nullopt;
    bsatn::U256 id;
    const auto& s = hex->get_ref<const std::string&>();
    if (s.size() != 64 || !bsatn::U256::from_hex_be(s, id)) return std::nullopt;
    return id;
}

}  // namespace benchdist::standin
