// How one epoch's load (control/epoch_load.hpp: the "load" of a start
// request) is shared out among its participants: each one's LoadAssignment,
// or why the epoch cannot start with it. Pure, so every rule of the split
// -- proportions, remainders, the refusals -- is unit-tested without a
// coordinator (load_split_test). The state machine calls it while it fixes
// the participants; a refusal becomes start-epoch's 409.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "benchdist/control/epoch_load.hpp"
#include "benchdist/control/protocol.hpp"

namespace benchdist::coordinator {

// What the split needs to know of a participant.
struct LoadParticipant {
    std::string id;
    std::uint64_t opened_connections = 0;  // from its /ready
    bool applies_epoch_load = false;       // its /register manifest's appliesEpochLoad
};

// One reason the load cannot be applied. `generator` is empty when the
// request itself does not fit the participants (a total below their number).
struct LoadRefusal {
    std::string generator;
    std::string message;  // names the generator and the numbers, and the fix
};

struct LoadSplit {
    std::map<std::string, control::LoadAssignment> assignments;  // by id; empty when refused
    std::vector<LoadRefusal> refusals;
    bool ok() const { return refusals.empty(); }
};

// The rules (docs/operations.md, "Per-epoch load"):
//  - "connections" (a total) is split in proportion to the connections each
//    participant opened, by largest remainder: everyone gets the whole part
//    of its exact share, then the units left over go to the largest
//    fractional parts; ties go to the participant that opened more, then to
//    the smaller id. A participant left with 0 then takes 1 from the largest
//    share (ties: the smaller id), so every participant runs at least one
//    connection; a total below the number of participants is refused.
//  - "connectionsPerGenerator" gives each that many.
//  - a share above what the participant opened is refused, naming it.
//  - "rate" (a total) is split in proportion to each participant's assigned
//    connections, or its opened ones when the request sets no connections;
//    "ratePerGenerator" gives each that rate; 0 is closed loop for all.
//  - "inflight", "alpha" and "accounts" go to everyone as given.
//  - a participant whose manifest does not say appliesEpochLoad is refused:
//    it would run its own command line instead.
// Participants are taken in id order whatever order they come in.
LoadSplit split_epoch_load(const control::EpochLoadRequest& request, std::vector<LoadParticipant> participants);

// start-epoch's message for a refused split: every refusal, each with its fix.
std::string load_refusal_message(const std::vector<LoadRefusal>& refusals);
// [{"generator": "<id>" or null, "message": "..."}], for machine readers of
// the refusal ("loadRefusals").
control::Json load_refusals_to_json(const std::vector<LoadRefusal>& refusals);

}  // namespace benchdist::coordinator
