// The client/server cross-check, one rule for an epoch's result and for the
// generator's local run: do the commits the clients saw in the window agree
// with the server's committed delta? The server reads its counter somewhere
// within each counter read's round trip, not necessarily at its midpoint, so
// the span the clients counted can be off by half of each round trip at
// either end; on a loaded machine a round trip holds more than 2% of a short
// window's commits. A gap is worth a warning only beyond the tolerance
// (2%) plus what the two round trips allow at the server's rate.
#pragma once

#include <cmath>

namespace benchdist::stats {

struct ClientServerCheck {
    double ratio = 0;           // client / server; 0 when the server counted nothing
    double allowance = 0;       // the largest gap, in commits, that still agrees
    double edge_allowance = 0;  // the part of it the counter reads' round trips allow
    bool agrees = true;
};

// `round_trips_ms`: the two counter reads' round trips added up (0 when
// unknown); `server_tps`: the server's rate over the window.
inline ClientServerCheck check_client_server(double client_committed, double server_committed, double server_tps,
                                             double round_trips_ms, double tolerance = 0.02) {
    ClientServerCheck c;
    if (!(server_committed > 0)) return c;
    c.ratio = client_committed / server_committed;
    c.edge_allowance = server_tps > 0 && round_trips_ms > 0 ? server_tps * round_trips_ms / 2.0 / 1000.0 : 0.0;
    c.allowance = tolerance * server_committed + c.edge_allowance;
    c.agrees = std::fabs(client_committed - server_committed) <= c.allowance;
    return c;
}

}  // namespace benchdist::stats
