// Kept in its own translation unit: only the executable references it, so
// tests of the runner link without the HTTP and WebSocket client code.
#include "benchdist/coordinator/epoch_sources.hpp"

#include <mutex>
#include <stdexcept>

#include "benchdist/stdbhttp/accounts_snapshot.hpp"

namespace benchdist::coordinator {

namespace {

class StdbCounterSource final : public CounterSource {
public:
    explicit StdbCounterSource(StdbTarget target) : target_(std::move(target)) {}

    void begin_epoch() override {
        // Resolved per epoch: a database republished between epochs gets a
        // new identity, and its old series would no longer move.
        set_identity({});
        try {
            set_identity(
                stdbhttp::fetch_database_identity(target_.endpoint, target_.database, target_.timeout, target_.token));
        } catch (const std::exception& e) {
            // The inner message names the URL and says what to check.
            throw std::runtime_error("cannot resolve database \"" + target_.database + "\": " + e.what());
        }
    }

    stdbhttp::CounterRead read() override {
        auto identity = current_identity();
        if (identity.empty()) {
            begin_epoch();
            identity = current_identity();
        }
        return stdbhttp::read_committed_transfers(target_.endpoint, identity, target_.timeout, target_.token);
    }

    std::optional<std::string> database_identity() const override {
        auto identity = current_identity();
        if (identity.empty()) return std::nullopt;
        return identity;
    }

private:
    // The timeline sampler reads from its own thread; the identity is the
    // only state it shares with the runner.
    std::string current_identity() const {
        std::lock_guard lock(mu_);
        return identity_;
    }
    void set_identity(std::string identity) {
        std::lock_guard lock(mu_);
        identity_ = std::move(identity);
    }

    StdbTarget target_;
    mutable std::mutex mu_;
    std::string identity_;
};

class StdbVerifier final : public Verifier {
public:
    StdbVerifier(StdbTarget target, std::int64_t initial_balance)
        : target_(std::move(target)), initial_balance_(initial_balance) {}

    stdb::transfer::VerificationOutcome verify() override {
        const auto tally = stdbhttp::fetch_account_balances(target_.endpoint, target_.database, initial_balance_,
                                                            target_.compression, target_.timeout, target_.token);
        return stdb::transfer::verify(tally);
    }

private:
    StdbTarget target_;
    std::int64_t initial_balance_;
};

}  // namespace

std::unique_ptr<CounterSource> make_stdb_counter_source(StdbTarget target) {
    return std::make_unique<StdbCounterSource>(std::move(target));
}

std::unique_ptr<Verifier> make_stdb_verifier(StdbTarget target, std::int64_t initial_balance) {
    return std::make_unique<StdbVerifier>(std::move(target), initial_balance);
}

}  // namespace benchdist::coordinator
