// DatabaseHost: one stand-in database and the single thread that runs all of
// its work (reducers, SQL, subscription bookkeeping) in order, as a
// SpacetimeDB database runs its reducers one at a time. Network threads post
// work here and get results posted back, so the Database itself needs no
// locks. The subscriber registry lives here too, touched only on this thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "benchdist/standin/database.hpp"
#include "benchdist/standin/sql_subset.hpp"
#include "benchdist/stdb/messages.hpp"

namespace benchdist::standin {

class WsSession;

// One WebSocket client message waiting for the database thread, in the order
// it arrived. Sessions hand these over in batches (submit), so a burst of
// calls from many connections costs one lock and one posted handler, not one
// posted, heap-allocated handler per call.
struct SessionWork {
    std::weak_ptr<WsSession> session;
    const WsSession* key = nullptr;  // the subscriber registry's key
    stdb::ClientMessage message;
    std::chrono::steady_clock::time_point arrived;  // for --reducer-delay-us's queue
    // The session ended: forget its subscriptions. Queued like a message so
    // it runs after everything the session sent before.
    bool forget = false;
};

// Runs one batch on the database thread, in order (ws_session.cpp).
void run_session_work(class DatabaseHost& host, std::vector<SessionWork>& batch);

struct Subscription {
    stdb::QuerySetId query_set_id;
    std::vector<AccountsQuery> queries;
};

struct Subscriber {
    std::weak_ptr<WsSession> session;
    std::vector<Subscription> subscriptions;
};

class DatabaseHost {
public:
    explicit DatabaseHost(DatabaseConfig config) : db_(std::move(config)) {}
    ~DatabaseHost() { stop(); }

    void start() {
        thread_ = std::thread([this] { ioc_.run(); });
    }
    // Finishes queued work, then joins.
    void stop() {
        work_.reset();
        if (thread_.joinable()) thread_.join();
    }

    template <typename F>
    void post(F&& f) {
        boost::asio::post(ioc_, std::forward<F>(f));
    }

    // From any thread: appends `work` (left empty) to the database's queue.
    // Only the submit that finds the queue empty posts a drain; calls that
    // arrive while the thread is busy or waking up join that drain, so the
    // thread takes them in one swap.
    void submit(std::vector<SessionWork>& work) {
        if (work.empty()) return;
        bool post_drain = false;
        {
            std::lock_guard lock(queue_mutex_);
            post_drain = queue_.empty();
            if (post_drain) {
                queue_.swap(work);  // the common case: no copy, capacities trade places
            } else {
                for (auto& w : work) queue_.push_back(std::move(w));
            }
        }
        work.clear();
        if (post_drain) post([this] { drain(); });
    }

    // For timers that run on this database's thread (the debug route's
    // delay schedule).
    boost::asio::io_context& io_context() { return ioc_; }

    // Only on the host thread (inside post()).
    Database& db() { return db_; }
    std::unordered_map<const WsSession*, Subscriber>& subscribers() { return subscribers_; }

    // Identity and name never change, so they may be read from any thread.
    const std::string& name() const { return db_.name(); }
    const std::string& identity_hex() const { return db_.identity_hex(); }

    // The query sets of one subscriber affected by a committed change, as a
    // TransactionUpdate (empty query_sets when nothing it watches changed).
    stdb::TransactionUpdate update_for(const Subscriber& subscriber, const AccountsChange& change) const;
    // All rows matching the queries, as the rows of one table.
    stdb::QueryRows rows_for(const std::vector<AccountsQuery>& queries) const;

private:
    void drain() {
        {
            std::lock_guard lock(queue_mutex_);
            draining_.swap(queue_);
        }
        run_session_work(*this, draining_);
        draining_.clear();  // keeps its capacity for the next swap
    }

    Database db_;
    std::mutex queue_mutex_;
    std::vector<SessionWork> queue_;     // guarded by queue_mutex_
    std::vector<SessionWork> draining_;  // the host thread's, during drain()
    boost::asio::io_context ioc_{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{ioc_.get_executor()};
    std::thread thread_;
    std::unordered_map<const WsSession*, Subscriber> subscribers_;
};

}  // namespace benchdist::standin
