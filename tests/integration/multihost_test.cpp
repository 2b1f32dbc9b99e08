// A distributed run across separate "hosts": the stand-in server, the
// coordinator and two generators each in a network namespace of their own,
// joined by a bridge (see NetnsLab), with a few ms of netem delay per link
// where the kernel has sch_netem. Unlike the 127.0.0.1 tests, a link can
// fail here the way it does between machines -- packets vanish, nothing is
// refused -- which is what leases and self-fencing exist for: one generator
// is cut off in the middle of a measured window and must stop loading on
// its own, the coordinator must flag the epoch naming it without waiting out
// the stop timeout, and once the link is back the generator must come back
// by itself and take part in the next epoch. Skips only where namespaces
// cannot be made (not root, no CAP_NET_ADMIN, no iproute2).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_client.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdbhttp/server_api.hpp"
#include "netns.hpp"
#include "rig.hpp"

namespace fs = std::filesystem;
namespace bc = benchdist::control;
namespace bn = benchdist::net;
namespace bs = benchdist::stdb;
using namespace benchdist::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kInitialBalance = 1000000;
constexpr int kAccounts = 1000;
constexpr int kConcurrency = 4;  // closed loop, one call in flight per connection
constexpr int kLeaseSeconds = 3;
constexpr int kWindowSeconds = 4;  // longer than the lease: the loss is noticed inside the window
// Long on purpose: a coordinator that waited for the lost generator's
// /stopped instead of flagging it at once would blow the test's bound.
constexpr int kStopAckTimeoutSeconds = 15;
constexpr auto kLinkDelay = 2ms;
constexpr int kStdbPort = 3000;
constexpr int kCoordinatorPort = 8080;

// Four hosts on one bridge: server .1, coordinator .2, gen-a .3, gen-b .4.
// Members are declared so that the processes go before the namespaces.
class MultiHost {
public:
    explicit MultiHost(NetnsLab& lab) : lab_(lab) {
        for (const char* h : {"server", "coordinator", "gen-a", "gen-b"}) lab_.add_host(h);
        const auto no_delay = lab_.add_delay(kLinkDelay);
        delayed_ = !no_delay;
        if (no_delay) {
            std::printf(
                "multihost: no link delay -- tc netem is unavailable here (%s); the hosts are linked without it\n",
                no_delay->c_str());
        } else {
            std::printf("multihost: %lld ms netem delay on every host's link\n",
                        static_cast<long long>(kLinkDelay.count()));
        }
        std::printf("multihost: hosts on %s, namespaces %s...\n", lab_.subnet().c_str(),
                    lab_.host("server").netns.c_str());

        dir_ = std::make_unique<TempDir>("multihost");
        // The test's own calls go from the coordinator's host, as an operator's would.
        const auto from_coordinator = [this](const std::function<void()>& f) { lab_.run_in("coordinator", f); };

        standin_ = std::make_unique<StandinProcess>(benchdist::testing::StandinOptions{
            .host = address("server"),
            .port = kStdbPort,
            .wrap = [this](std::vector<std::string> argv) { return lab_.exec_argv("server", std::move(argv)); },
            .call_site = from_coordinator});
        // Seeded over the network from the coordinator's host, as an operator would.
        standin_->seed(kAccounts, kInitialBalance);

        coordinator_ = std::make_unique<CoordinatorProcess>(benchdist::testing::CoordinatorOptions{
            .stdb_url = stdb_url(),
            .results_dir = dir_->path() / "results",
            .bind = address("coordinator"),
            .port = kCoordinatorPort,
            .args = {"--window-seconds", std::to_string(kWindowSeconds), "--start-ack-timeout-seconds", "10",
                     "--stop-ack-timeout-seconds", std::to_string(kStopAckTimeoutSeconds), "--lease-seconds",
                     std::to_string(kLeaseSeconds), "--verify", "--initial-balance", std::to_string(kInitialBalance)},
            .call_timeout = 20s,
            .wrap = [this](std::vector<std::string> argv) { return lab_.exec_argv("coordinator", std::move(argv)); },
            .call_site = from_coordinator});
        coordinator_->add_diagnostics([this] {
            return "gen-a output:\n" + generator("gen-a").output() + "\ngen-b output:\n" + generator("gen-b").output();
        });

        for (const char* id : {"gen-a", "gen-b"}) {
            // The generator learns the lease from the coordinator's /state.
            // A short op timeout: calls in flight to a cut-off server can only
            // end by timing out, and the generator reports its fencing once
            // they have (the default 15 s would hide when it stopped).
            generators_[id] = std::make_unique<Subprocess>(
                lab_.exec_argv(id, benchdist::testing::generator_argv(coord_url(), stdb_url(),
                                                                      {.id = id,
                                                                       .concurrency = kConcurrency,
                                                                       .accounts = kAccounts,
                                                                       .args = {"--op-timeout-ms", "1000"}})));
        }
    }
    ~MultiHost() {
        generators_.clear();
        coordinator_.reset();
        standin_.reset();
    }

    bool delayed() const { return delayed_; }
    std::string address(const std::string& host) const { return lab_.host(host).address; }
    std::string stdb_url() const { return "ws://" + address("server") + ":" + std::to_string(kStdbPort); }
    std::string coord_url() const {
        return "http://" + address("coordinator") + ":" + std::to_string(kCoordinatorPort);
    }
    Subprocess& generator(const std::string& id) { return *generators_.at(id); }
    Subprocess& coordinator() { return coordinator_->process(); }

    // An HTTP call to the coordinator, made from the coordinator's host.
    bn::ClientResponse coord(const std::string& method, const std::string& path, const std::string& body = {}) {
        return coordinator_->call(method, path, body);
    }

    // GET /healthz from another host: a round trip over the bridge (the
    // test's own calls come from the coordinator's host and stay local).
    unsigned healthz_from(const std::string& host) {
        unsigned status = 0;
        lab_.run_in(host, [&] { status = bn::http_request({.url = coord_url() + "/healthz", .timeout = 10s}).status; });
        return status;
    }

    // The server's committed-transfer counter of test-1: the ground truth of
    // what all generators together got done.
    std::uint64_t server_committed() { return standin_->committed(); }

    bc::CoordinatorState state() { return coordinator_->state(); }

    bc::CoordinatorState wait_state(const benchdist::testing::StatePredicate& pred, std::chrono::seconds timeout,
                                    const std::string& what) {
        return coordinator_->wait_state(pred, timeout, what);
    }

    static std::optional<bc::GeneratorState> state_of(const bc::CoordinatorState& s, const std::string& id) {
        for (const auto& g : s.generators) {
            if (g.id == id) return g.local_state;
        }
        return std::nullopt;
    }

    void wait_both_ready(std::chrono::seconds timeout) {
        wait_state(
            [](const bc::CoordinatorState& s) {
                return state_of(s, "gen-a") == bc::GeneratorState::Ready &&
                       state_of(s, "gen-b") == bc::GeneratorState::Ready;
            },
            timeout, "gen-a and gen-b ready");
    }

    bc::StartEpochResponse start_epoch(const std::string& label) {
        return coordinator_->start_epoch(bc::Json{{"label", label}}.dump());
    }

    bc::EpochResult wait_result(std::uint64_t epoch, std::chrono::seconds timeout) {
        return coordinator_->wait_result(epoch, timeout);
    }

private:
    NetnsLab& lab_;
    bool delayed_ = false;
    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<StandinProcess> standin_;
    std::unique_ptr<CoordinatorProcess> coordinator_;
    std::map<std::string, std::unique_ptr<Subprocess>> generators_;
};

std::uint64_t per_generator_committed(const bc::EpochResult& r, const std::string& id) {
    const auto all = r.extra.find("perGenerator");
    if (all == r.extra.end() || !all->is_object()) return 0;
    const auto entry = all->find(id);
    if (entry == all->end() || !entry->is_object()) return 0;
    const auto committed = entry->find("committed");
    return committed != entry->end() && committed->is_number() ? static_cast<std::uint64_t>(committed->get<double>())
                                                               : 0;
}

}  // namespace

TEST(MultiHost, CutGeneratorFencesItselfIsNamedAndRejoinsAfterTheLinkReturns) {
    std::unique_ptr<NetnsLab> lab;
    try {
        lab = std::make_unique<NetnsLab>();
    } catch (const NetnsUnavailable& e) {
        GTEST_SKIP() << "multi-host test skipped: network namespaces cannot be made here: " << e.what();
    }
    MultiHost c(*lab);
    c.wait_both_ready(30s);

    if (c.delayed()) {
        // The delay is real: a TCP connect alone is one round trip, 2 x delay.
        const auto t0 = std::chrono::steady_clock::now();
        EXPECT_EQ(c.healthz_from("gen-a"), 200u);
        EXPECT_GE(seconds_since(t0), 2 * std::chrono::duration<double>(kLinkDelay).count());
    }

    // Epoch 1: a plain distributed epoch across the hosts.
    {
        const auto started = c.start_epoch("multihost-1");
        ASSERT_TRUE(started.started) << started.message;
        const auto r = c.wait_result(1, 40s);
        EXPECT_FALSE(r.error) << r.error.value_or("");
        EXPECT_EQ(r.verification, "passed") << r.verification_error.value_or("");
        EXPECT_EQ(r.participant_ids, (std::vector<std::string>{"gen-a", "gen-b"}));
        EXPECT_GT(std::stoull(r.committed_delta), 0u);
        EXPECT_GT(per_generator_committed(r, "gen-a"), 0u);
        EXPECT_GT(per_generator_committed(r, "gen-b"), 0u);
        std::printf("multihost: epoch 1 committedDelta %s, tps %.1f\n", r.committed_delta.c_str(), r.tps);
    }

    // Epoch 2: gen-b's link goes down in the measured window.
    std::uint64_t committed_after_epoch_2 = 0;
    {
        const auto started = c.start_epoch("multihost-2");
        ASSERT_TRUE(started.started) << started.message;
        c.wait_state(
            [](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Measure && s.current_epoch == 2u; }, 30s,
            "epoch 2 measuring");
        // Lines gen-b printed before the cut do not count as fencing.
        const auto output_before = c.generator("gen-b").output();
        const auto lines_before =
            static_cast<std::size_t>(std::count(output_before.begin(), output_before.end(), '\n'));
        const auto server_before_cut = c.server_committed();
        lab->set_link("gen-b", false);
        const auto cut_at = std::chrono::steady_clock::now();

        // gen-b can reach nobody now, so only its own log can say that it
        // stopped: it must, within its lease (plus scheduling slack).
        std::size_t index = 0;
        const auto fenced = c.generator("gen-b").wait_for_line(
            [&](const std::string& l) {
                const bool after_cut = index++ >= lines_before;
                const auto s = lower(l);
                return after_cut && (contains(s, "lost the coordinator") || contains(s, "lease lost") ||
                                     contains(s, "load stopped") || contains(s, "stopping load"));
            },
            std::chrono::seconds(kLeaseSeconds + 5));
        const auto fenced_after = seconds_since(cut_at);
        ASSERT_TRUE(fenced) << "gen-b did not stop its load after losing the coordinator:\n"
                            << c.generator("gen-b").output();
        EXPECT_LE(fenced_after, kLeaseSeconds + 2.0) << "fenced " << fenced_after << " s after the cut: " << *fenced;
        EXPECT_TRUE(c.generator("gen-b").running()) << "gen-b must keep trying to re-register, not exit:\n"
                                                    << c.generator("gen-b").output();
        std::printf("multihost: gen-b fenced %.2f s after its link went down: %s\n", fenced_after, fenced->c_str());

        // The coordinator marks it lost and flags the epoch at once, not
        // after the stop-ack timeout.
        c.wait_state(
            [](const bc::CoordinatorState& s) { return MultiHost::state_of(s, "gen-b") == bc::GeneratorState::Lost; },
            std::chrono::seconds(kLeaseSeconds + 5), "gen-b lost");
        const auto r = c.wait_result(2, std::chrono::seconds(kWindowSeconds + kStopAckTimeoutSeconds + 10));
        const auto result_after = seconds_since(cut_at);
        std::printf("multihost: epoch 2 result %.2f s after the cut: error \"%s\", perGenerator %s\n", result_after,
                    r.error.value_or("").c_str(), r.extra.value("perGenerator", bc::Json::object()).dump().c_str());
        ASSERT_TRUE(r.error.has_value()) << bc::pretty(bc::to_json(r));
        EXPECT_TRUE(contains(*r.error, "gen-b")) << *r.error;
        EXPECT_FALSE(contains(*r.error, "gen-a")) << *r.error;
        EXPECT_LT(result_after, kWindowSeconds + kLeaseSeconds + 4.0)
            << "the coordinator waited for the lost generator instead of flagging it";
        // The server kept committing after the cut: gen-a carried on alone.
        committed_after_epoch_2 = c.server_committed();
        EXPECT_GT(committed_after_epoch_2, server_before_cut);
        EXPECT_GT(per_generator_committed(r, "gen-a"), 0u) << bc::pretty(bc::to_json(r));
        EXPECT_EQ(MultiHost::state_of(c.state(), "gen-b"), bc::GeneratorState::Lost);
    }

    // The link returns: gen-b re-registers by itself, and does not resume
    // the old epoch's load on the way -- at most the calls that were in
    // flight when the link went down may still reach the server.
    {
        lab->set_link("gen-b", true);
        const auto restored_at = std::chrono::steady_clock::now();
        c.wait_both_ready(30s);
        std::printf("multihost: gen-b ready again %.2f s after its link came back\n", seconds_since(restored_at));
        const auto committed_now = c.server_committed();
        std::printf("multihost: %llu transfers committed between epoch 2's result and gen-b's return\n",
                    static_cast<unsigned long long>(committed_now - committed_after_epoch_2));
        EXPECT_LE(committed_now - committed_after_epoch_2, static_cast<std::uint64_t>(kConcurrency))
            << "transfers committed with no epoch running: gen-b kept loading";
    }

    // Epoch 3 passes with both generators.
    {
        const auto started = c.start_epoch("multihost-3");
        ASSERT_TRUE(started.started) << started.message;
        const auto r = c.wait_result(3, 40s);
        EXPECT_FALSE(r.error) << r.error.value_or("");
        EXPECT_EQ(r.verification, "passed") << r.verification_error.value_or("");
        EXPECT_EQ(r.participant_ids, (std::vector<std::string>{"gen-a", "gen-b"}));
        EXPECT_GT(per_generator_committed(r, "gen-a"), 0u) << bc::pretty(bc::to_json(r));
        EXPECT_GT(per_generator_committed(r, "gen-b"), 0u) << bc::pretty(bc::to_json(r));
        std::printf("multihost: epoch 3 committedDelta %s, tps %.1f\n", r.committed_delta.c_str(), r.tps);
    }
}
