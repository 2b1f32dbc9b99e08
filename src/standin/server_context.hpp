// What every part of a running stdb-standin shares: its options, its
// databases (each with its reducer thread), metrics, the commit log and the
// identity mint. Owned by StandinServer; sessions and routes hold a reference.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "benchdist/standin/commit_log.hpp"
#include "benchdist/standin/identity_source.hpp"
#include "benchdist/standin/metrics_registry.hpp"
#include "benchdist/standin/standin_server.hpp"
#include "database_host.hpp"
#include "delay_schedule.hpp"
#include "reply_relay.hpp"

namespace benchdist::standin {

struct ServerContext {
    StandinOptions options;
    MetricsRegistry metrics;
    std::unique_ptr<CommitLog> commit_log;
    std::vector<std::unique_ptr<DatabaseHost>> hosts;
    // The reply delay in force. Starts at options.reply_delay_us; the debug
    // route changes it while sessions run, so every reply reads it afresh
    // (options.reply_delay_us stays the value the server was started with).
    std::atomic<std::uint64_t> reply_delay_us{0};
    // The debug route's schedule of reply_delay_us, on the first database's
    // thread. Declared after `hosts`, so it goes first; StandinServer::stop
    // stops it before the databases' threads finish.
    std::unique_ptr<ReplyDelaySchedule> delay_schedule;

    // A database by name, or by identity as hex (optional 0x), as SpacetimeDB
    // resolves the {name_or_identity} path segment. nullptr if unknown.
    DatabaseHost* find(std::string_view name_or_identity) const;

    // The relay of one single-threaded I/O io_context, made at first use.
    ReplyRelay& relay_for(boost::asio::io_context::executor_type io) {
        std::lock_guard lock(relay_mutex_);
        auto& relay = relays_[&io.context()];
        if (!relay) relay = std::make_unique<ReplyRelay>(io);
        return *relay;
    }

    // Drops every relay and the sessions waiting in them. Called once the
    // I/O and database threads are done and before the I/O io_context is
    // destroyed: a session holds a socket and timers of that io_context.
    void drop_relays() {
        std::lock_guard lock(relay_mutex_);
        relays_.clear();
    }

    bsatn::U256 mint_identity() {
        std::lock_guard lock(id_mutex_);
        return ids_.next();
    }

private:
    std::mutex relay_mutex_;
    std::map<const void*, std::unique_ptr<ReplyRelay>> relays_;
    std::mutex id_mutex_;
    IdentitySource ids_ = IdentitySource::from_entropy();
};

// The outcome of reading the caller's credentials: an identity and the token
// to hand back (minted for anonymous callers), or an HTTP error.
struct CallerAuth {
    bsatn::U256 identity;
    std::string token;
    unsigned error_status = 0;  // 0 = ok
    std::string error;
};

// Authorization: Bearer <token> wins over ?token=; neither mints a new
// identity. Malformed header -> 400, foreign token -> 401 (the real texts);
// no token at all -> 401 when options.require_token.
CallerAuth authenticate(ServerContext& ctx, std::optional<std::string_view> authorization_header,
                        std::optional<std::string> token_query);

}  // namespace benchdist::standin
