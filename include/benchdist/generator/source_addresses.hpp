// Source addresses: the local IP addresses a generator's connections leave
// from (--source-addresses 127.0.0.2,127.0.0.3,...). The kernel gives each
// (source address, destination) pair its own range of about 28,000
// ephemeral ports, so one address caps a generator at that many connections
// to one server; spreading the connections over several local addresses
// lifts the cap. This file only reads and checks the operator's list, so a
// typo is refused with a message naming the flag before any socket exists;
// whether an address really belongs to this host is learnt when a
// connection binds to it (stdb_connection.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace benchdist::generator {

// Splits "127.0.0.2, 127.0.0.3" at commas (blanks around items ignored) and
// returns the addresses in canonical text form, in the order given. An
// empty or all-blank list returns an empty vector (the kernel chooses, as
// without the flag). Throws std::invalid_argument naming --source-addresses
// and the offending item for an empty item, anything that is not an IPv4 or
// IPv6 literal (host names included: a name could resolve to an address of
// another host), the wildcard or a multicast address, an address given
// twice, or a list that mixes IPv4 and IPv6 (a connection can only leave
// from an address of the family it reaches the server over, so a mixed list
// would fail on every other connection).
std::vector<std::string> parse_source_addresses(std::string_view comma_list);

// The same checks on a list that did not come through the parser (e.g. set
// in code); returns it in canonical form or throws std::invalid_argument.
std::vector<std::string> validate_source_addresses(const std::vector<std::string>& addresses);

}  // namespace benchdist::generator
