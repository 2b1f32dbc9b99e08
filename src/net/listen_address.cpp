// Parsing "HOST:PORT" (listen_address.hpp).
#include "benchdist/net/listen_address.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>

namespace benchdist::net {

namespace {

constexpr std::string_view kExample = "use HOST:PORT with an IP address, e.g. 127.0.0.1:8080 or [::1]:8080";

std::string quoted(std::string_view text) {
    // Cut long: the text is echoed into a one-line error.
    return "\"" + std::string(text.substr(0, 80)) + (text.size() > 80 ? "...\"" : "\"");
}

}  // namespace

std::variant<ListenAddress, std::string> parse_listen_address(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return quoted(text) + " has no port: " + std::string(kExample);
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (bracketed) host = host.substr(1, host.size() - 2);

    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
        return quoted(text) + ": the port must be a number from 0 to 65535 (0 picks a free one); " +
               std::string(kExample);
    }
    boost::system::error_code bad;
    const auto address = boost::asio::ip::make_address(std::string(host), bad);
    if (host.empty() || bad) {
        return quoted(text) + ": " + quoted(host) + " is not an IP address (names are not resolved); " +
               std::string(kExample);
    }
    if (address.is_v6() && !bracketed) {
        return quoted(text) + ": write an IPv6 address in brackets, e.g. [::1]:8080";
    }
    return ListenAddress{std::string(host), static_cast<std::uint16_t>(port)};
}

std::string http_url(std::string_view host, std::uint16_t port) {
    const bool v6 = host.find(':') != std::string_view::npos;
    return "http://" + (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

}  // namespace benchdist::net
