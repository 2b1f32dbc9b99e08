// "HOST:PORT" as the tools' listen options take it (stdb-standin --listen,
// bench-dist-generator --metrics-listen): an IP literal, since HttpServer
// binds to an address and never resolves a name, and a decimal port, 0
// asking the kernel for a free one. Checked when the command line is read,
// so a typo is a usage error naming the option rather than a bind failure
// after minutes of setup.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace benchdist::net {

struct ListenAddress {
    std::string host;  // an IPv4 or IPv6 literal, without brackets
    std::uint16_t port = 0;
};

// "127.0.0.1:9464", "0.0.0.0:0", "[::1]:9464". Returns the address, or what
// is wrong with `text` and what to write instead (a sentence for
// "error: --flag: <it>").
std::variant<ListenAddress, std::string> parse_listen_address(std::string_view text);

// "http://127.0.0.1:9464" or "http://[::1]:9464": the base URL a client uses
// to reach `host` on `port`.
std::string http_url(std::string_view host, std::uint16_t port);

}  // namespace benchdist::net
