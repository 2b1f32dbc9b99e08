#include "benchdist/coordinator/load_split.hpp"

#include <algorithm>
#include <numeric>

#include "benchdist/coordinator/epoch_state.hpp"

namespace benchdist::coordinator {

namespace {

// Connections per participant (index-aligned with `ps`) from a total, by
// the largest-remainder rule of the header. Exact in integers: a total is
// at most 1e9 and a participant opens at most 1e6 (control/identifiers.hpp),
// so total * opened fits in 64 bits.
std::vector<std::uint64_t> proportional_connections(std::uint64_t total, const std::vector<LoadParticipant>& ps) {
    const std::uint64_t opened =
        std::accumulate(ps.begin(), ps.end(), std::uint64_t{0},
                        [](std::uint64_t sum, const auto& p) { return sum + p.opened_connections; });
    std::vector<std::uint64_t> share(ps.size(), 0);
    if (opened == 0) {
        // Nobody opened anything: every share is refused anyway; spread the
        // total evenly so the messages show what each would have had.
        for (std::size_t i = 0; i < ps.size(); ++i) share[i] = total / ps.size() + (i < total % ps.size() ? 1 : 0);
        return share;
    }
    std::vector<std::uint64_t> remainder(ps.size(), 0);
    std::uint64_t given = 0;
    for (std::size_t i = 0; i < ps.size(); ++i) {
        const std::uint64_t exact = total * ps[i].opened_connections;
        share[i] = exact / opened;
        remainder[i] = exact % opened;
        given += share[i];
    }
    std::vector<std::size_t> order(ps.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    // ps is in id order, so a stable sort leaves the last tie to the smaller id.
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (remainder[a] != remainder[b]) return remainder[a] > remainder[b];
        return ps[a].opened_connections > ps[b].opened_connections;
    });
    for (std::size_t k = 0; given < total; ++k, ++given) ++share[order[k % order.size()]];
    // At least one each (the caller refused a total below the participants'
    // number, so a share of 2 or more exists while one is 0).
    for (std::size_t i = 0; i < ps.size(); ++i) {
        if (share[i] != 0) continue;
        const auto largest = std::max_element(share.begin(), share.end());  // first of equals: the smaller id
        --*largest;
        share[i] = 1;
    }
    return share;
}

}  // namespace

LoadSplit split_epoch_load(const control::EpochLoadRequest& request, std::vector<LoadParticipant> participants) {
    std::sort(participants.begin(), participants.end(),
              [](const LoadParticipant& a, const LoadParticipant& b) { return a.id < b.id; });
    LoadSplit out;
    const auto& ps = participants;
    if (ps.empty()) return out;

    for (const auto& p : ps) {
        if (p.applies_epoch_load) continue;
        out.refusals.push_back({p.id, p.id + " does not apply per-epoch load: it is the original harness's generator "
                                             "or an older bench-dist-generator; leave it out with --generator-ids or "
                                             "exclude it"});
    }

    std::vector<std::uint64_t> connections;
    if (request.connections) {
        const std::uint64_t total = *request.connections;
        if (total < ps.size()) {
            std::vector<std::string> ids;
            for (const auto& p : ps) ids.push_back(p.id);
            out.refusals.push_back({"", "\"connections\": " + std::to_string(total) + " in total is fewer than the " +
                                            std::to_string(ps.size()) + " participants (" + join_ids(ids) +
                                            "), and each runs at least 1; ask for at least " +
                                            std::to_string(ps.size()) +
                                            ", or for fewer generators with --generator-ids"});
        } else {
            connections = proportional_connections(total, ps);
        }
    } else if (request.connections_per_generator) {
        connections.assign(ps.size(), *request.connections_per_generator);
    }
    if (!connections.empty()) {
        std::uint64_t opened_total = 0;
        std::uint64_t opened_least = ps.front().opened_connections;
        for (const auto& p : ps) {
            opened_total += p.opened_connections;
            opened_least = std::min(opened_least, p.opened_connections);
        }
        for (std::size_t i = 0; i < ps.size(); ++i) {
            const auto& p = ps[i];
            // A generator that applies no load at all is refused once, above.
            if (!p.applies_epoch_load || connections[i] <= p.opened_connections) continue;
            const std::string fix =
                request.connections ? "ask for at most " + std::to_string(opened_total) + " connections in total"
                                    : "ask for at most " + std::to_string(opened_least) + " connections per generator";
            out.refusals.push_back({p.id, p.id + "'s share is " + std::to_string(connections[i]) +
                                              " active connections but it opened " +
                                              std::to_string(p.opened_connections) + "; " + fix + ", start " + p.id +
                                              " with a larger --concurrency, or leave it out with --generator-ids"});
        }
    }
    if (!out.refusals.empty()) return out;

    // The rate follows the connections each participant runs.
    std::vector<double> rate;
    if (request.rate) {
        std::vector<double> weight;
        for (std::size_t i = 0; i < ps.size(); ++i)
            weight.push_back(static_cast<double>(connections.empty() ? ps[i].opened_connections : connections[i]));
        double sum = std::accumulate(weight.begin(), weight.end(), 0.0);
        if (sum == 0) {  // nothing opened anywhere: an even split
            std::fill(weight.begin(), weight.end(), 1.0);
            sum = static_cast<double>(ps.size());
        }
        for (const double w : weight) rate.push_back(*request.rate * w / sum);
    } else if (request.rate_per_generator) {
        rate.assign(ps.size(), *request.rate_per_generator);
    }

    for (std::size_t i = 0; i < ps.size(); ++i) {
        control::LoadAssignment a;
        if (!connections.empty()) a.connections = connections[i];
        a.inflight = request.inflight;
        if (!rate.empty()) a.rate = rate[i];
        a.alpha = request.alpha;
        a.accounts = request.accounts;
        out.assignments[ps[i].id] = a;
    }
    return out;
}

std::string load_refusal_message(const std::vector<LoadRefusal>& refusals) {
    std::string out = "Refusing to start: the epoch's load cannot be applied -- ";
    for (std::size_t i = 0; i < refusals.size(); ++i) out += (i ? "; " : "") + refusals[i].message;
    return out + ".";
}

control::Json load_refusals_to_json(const std::vector<LoadRefusal>& refusals) {
    control::Json out = control::Json::array();
    for (const auto& r : refusals)
        out.push_back({{"generator", r.generator.empty() ? control::Json(nullptr) : control::Json(r.generator)},
                       {"message", r.message}});
    return out;
}

}  // namespace benchdist::coordinator
