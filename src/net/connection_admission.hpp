// ConnectionAdmission: who holds a connection slot of the HTTP server, as
// pure bookkeeping (no sockets, no clock, no lock: HttpServer calls it under
// its own mutex), so the policy is unit-tested on its own.
//
// The policy. A connection is *pending* from accept until the head of its
// first request (request line and headers, within the limits) has passed
// the server's screen as authenticated -- the right bearer token on the
// coordinator, or, on a server without a screen, simply a complete, valid
// head. Then it is *admitted*: it takes one of `max_admitted` slots (the
// coordinator's --max-connections) and keeps it until it closes, long-polls
// and keep-alive included. Pending connections never take one of those
// slots, so a crowd that has proved nothing -- idle sockets, trickled
// headers, requests without the token -- cannot starve the clients that
// have. They have a budget of their own: at most `max_pending` in all and
// `max_pending_per_source` per source (see source_key), and a newcomer over
// either cap evicts the *oldest* pending connection (of its own source
// first) rather than being refused. A real client sends its request as soon
// as it has connected and is admitted within a round trip, so it is almost
// never the oldest; an idle socket always ends up being. Refusing the
// newcomer instead would let whoever fills the budget first keep it, which
// is exactly the starvation this prevents. Admission can still fail when
// every slot is taken by admitted connections: the server then answers 503
// (the fleet outgrew --max-connections, which is the operator's to fix).
// HttpServer adds the clock: a pending connection that has not sent its
// first head within first_request_timeout is closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace benchdist::net {

struct AdmissionLimits {
    std::size_t max_admitted = 1024;
    std::size_t max_pending = 256;            // at least 1
    std::size_t max_pending_per_source = 64;  // 0: no cap per source
};

class ConnectionAdmission {
public:
    // Increasing in arrival order, so the smallest pending id is the oldest.
    using Id = std::uint64_t;

    explicit ConnectionAdmission(AdmissionLimits limits);

    struct Arrival {
        Id id = 0;
        // Pending connections to close to make room, oldest first; already
        // forgotten here. Never the new one.
        std::vector<Id> evict;
    };
    // A new connection from `source` (a source_key): pending.
    Arrival arrive(const std::string& source);

    enum class Admit {
        Admitted,  // it holds a slot now
        Full,      // every slot is taken: answer 503; it stays pending until it leaves
        Gone,      // it was evicted meanwhile: close it
    };
    // The connection's head passed the screen as authenticated.
    Admit admit(Id id);

    // The connection closed, in whatever state (unknown ids are ignored).
    void leave(Id id);

    std::size_t pending() const { return pending_.size(); }
    std::size_t admitted() const { return admitted_.size(); }
    std::uint64_t evicted_total() const { return evicted_total_; }
    bool is_pending(Id id) const { return pending_.count(id) != 0; }

private:
    void forget_pending(Id id);

    AdmissionLimits limits_;
    Id next_id_ = 1;
    std::map<Id, std::string> pending_;  // id -> source, oldest first
    std::unordered_map<std::string, std::set<Id>> pending_by_source_;
    std::unordered_set<Id> admitted_;
    std::uint64_t evicted_total_ = 0;
};

// Whom a per-source cap counts together: an IPv4 address as is (an
// IPv4-mapped IPv6 address as its IPv4 address), an IPv6 address by its
// /64 prefix -- one host usually has a whole /64 to pick addresses from.
// Text that is not an address is its own key.
std::string source_key(std::string_view ip);

}  // namespace benchdist::net
