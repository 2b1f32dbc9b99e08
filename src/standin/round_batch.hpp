// RoundBatch: what the sessions of one I/O thread read in one round of its
// io_context, handed to each database in one submit. Measured on the
// closed loop (1,000 connections, one call each): with one submit per read
// the database thread woke for ~1.2 calls, each wake an epoll_ctl on the I/O
// thread and a sleep and a wake-up on the database thread. The first call of
// a round posts a flush to the I/O thread's io_context; it runs after the
// completions already queued, i.e. after the round.
//
// Only for an io_context run by one thread (--io-threads 1): a session's
// strand may run its next read on another thread, whose batch could reach
// the database first and break the session's order. Sessions on several
// threads submit per read instead.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <utility>
#include <vector>

#include "database_host.hpp"

namespace benchdist::standin {

class RoundBatch {
public:
    // This thread's batch.
    static RoundBatch& local() {
        thread_local RoundBatch batch;
        return batch;
    }

    void add(DatabaseHost& host, SessionWork&& work, const boost::asio::io_context::executor_type& io) {
        find(host).push_back(std::move(work));
        if (flush_posted_) return;
        flush_posted_ = true;
        boost::asio::post(io, [this] { flush(); });
    }

private:
    std::vector<SessionWork>& find(DatabaseHost& host) {
        for (auto& [h, work] : per_host_) {
            if (h == &host) return work;
        }
        return per_host_.emplace_back(&host, std::vector<SessionWork>{}).second;
    }

    void flush() {
        flush_posted_ = false;
        for (auto& [host, work] : per_host_) host->submit(work);  // leaves `work` empty, capacity kept
    }

    std::vector<std::pair<DatabaseHost*, std::vector<SessionWork>>> per_host_;
    bool flush_posted_ = false;
};

}  // namespace benchdist::standin
