#include "benchdist/generator/source_addresses.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/system/error_code.hpp>
#include <stdexcept>

namespace benchdist::generator {

namespace {

constexpr std::string_view kFlag = "--source-addresses";
constexpr std::string_view kUsage =
    " -- give IP addresses of this host's interfaces, comma-separated (e.g. 127.0.0.2,127.0.0.3 on loopback)";

std::string_view trim(std::string_view s) {
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

[[noreturn]] void refuse(std::string_view what, std::string_view why, bool usage = false) {
    throw std::invalid_argument(std::string(kFlag) + " " + std::string(what) + ": " + std::string(why) +
                                (usage ? std::string(kUsage) : std::string()));
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += ',';
        out += items[i];
    }
    return out;
}

}  // namespace

std::vector<std::string> validate_source_addresses(const std::vector<std::string>& addresses) {
    std::vector<std::string> out;
    out.reserve(addresses.size());
    bool any_v4 = false;
    bool any_v6 = false;
    for (const auto& given : addresses) {
        const std::string_view item = trim(given);
        if (item.empty()) refuse(join(addresses), "has an empty item (two commas in a row, or one at an end)", true);
        boost::system::error_code ec;
        const auto address = boost::asio::ip::make_address(std::string(item), ec);
        if (ec) refuse(item, "not an IPv4 or IPv6 address (host names are not accepted)", true);
        if (address.is_unspecified()) {
            refuse(item, "the wildcard address lets the kernel choose, which is what leaving the flag out does");
        }
        if (address.is_multicast()) refuse(item, "a multicast address cannot be a connection's source");
        std::string canonical = address.to_string();
        if (std::find(out.begin(), out.end(), canonical) != out.end()) refuse(item, "given twice");
        (address.is_v4() ? any_v4 : any_v6) = true;
        out.push_back(std::move(canonical));
    }
    if (any_v4 && any_v6) {
        refuse(join(out),
               "mixes IPv4 and IPv6 addresses; a connection can only leave from an address of the family it "
               "reaches the server over, so give addresses of one family");
    }
    return out;
}

std::vector<std::string> parse_source_addresses(std::string_view comma_list) {
    if (trim(comma_list).empty()) return {};
    std::vector<std::string> items;
    for (;;) {
        const auto comma = comma_list.find(',');
        items.emplace_back(comma_list.substr(0, comma));
        if (comma == std::string_view::npos) break;
        comma_list.remove_prefix(comma + 1);
    }
    return validate_source_addresses(items);
}

}  // namespace benchdist::generator
