// ReplyRelay: replies from the database threads to the sessions of one I/O
// io_context run by one thread (--io-threads 1). A database drain answers
// many sessions; posting to each session's strand cost a strand enqueue, the
// io_context's mutex and sometimes a wake-up per session (about 5% of the
// stand-in's samples in the closed loop). The relay takes the list of
// sessions with replies and posts one handler per batch, which drains them
// in turn on the I/O thread: with one thread there is nothing a session's
// strand would have to keep out.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <mutex>
#include <vector>

namespace benchdist::standin {

class WsSession;
// Sends the replies waiting in the session's inbox (ws_session.cpp).
void drain_session_inbox(WsSession& session);

class ReplyRelay {
public:
    explicit ReplyRelay(boost::asio::io_context::executor_type io) : io_(io) {}

    // From a database thread: `session`'s inbox was empty and now is not.
    void ready(std::shared_ptr<WsSession> session) {
        bool post_drain = false;
        {
            std::lock_guard lock(mutex_);
            post_drain = ready_.empty();
            ready_.push_back(std::move(session));
        }
        if (post_drain) boost::asio::post(io_, [this] { drain(); });
    }

private:
    void drain() {
        {
            std::lock_guard lock(mutex_);
            draining_.swap(ready_);
        }
        for (auto& s : draining_) drain_session_inbox(*s);
        draining_.clear();  // keeps its capacity for the next swap
    }

    boost::asio::io_context::executor_type io_;
    std::mutex mutex_;
    std::vector<std::shared_ptr<WsSession>> ready_;     // guarded by mutex_
    std::vector<std::shared_ptr<WsSession>> draining_;  // the I/O thread's, during drain()
};

}  // namespace benchdist::standin
