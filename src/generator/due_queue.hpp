// The open-loop schedule of one worker thread: which of its connections has
// a call falling due next, and when the thread's one schedule timer should
// wake it. Private to the generator (load_worker.cpp), pure (no clock, no
// Asio) so that unit tests drive it with made-up times.
//
// Why one queue per thread rather than a timer per connection: with a timer
// per connection and the connections' phases staggered, every call was its
// own wake-up of the thread (epoll_wait returning for one timer), the
// thread slept between calls, and each sleep and wake-up cost more than the
// call itself. One timer per thread that fires at most once per tick sends
// every call that fell due since the last wake-up together, so a wake-up
// carries several calls once the rate is high.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace benchdist::generator {

class DueQueue {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    struct Entry {
        TimePoint due;
        std::size_t worker = 0;  // the session's index of the worker
    };

    // Room for this many entries without allocating (one per connection
    // of the thread is the most the load loop keeps).
    void reserve(std::size_t n) { heap_.reserve(n); }

    void push(TimePoint due, std::size_t worker) {
        heap_.push_back(Entry{due, worker});
        std::push_heap(heap_.begin(), heap_.end(), later);
    }

    bool empty() const { return heap_.empty(); }
    std::size_t size() const { return heap_.size(); }
    TimePoint earliest() const { return heap_.front().due; }

    // The earliest entry if it is due at `now`, taken out of the queue.
    std::optional<Entry> pop_due(TimePoint now) {
        if (heap_.empty() || heap_.front().due > now) return std::nullopt;
        std::pop_heap(heap_.begin(), heap_.end(), later);
        const Entry e = heap_.back();
        heap_.pop_back();
        return e;
    }

    void clear() { heap_.clear(); }

private:
    static bool later(const Entry& a, const Entry& b) { return a.due > b.due; }
    std::vector<Entry> heap_;
};

// When the thread's schedule timer should fire for a queue whose earliest
// call is due at `earliest`, the timer's last wake-up having been due at
// `last_wake`: at
// the due time, but never sooner than `tick` after the last wake-up. A call
// therefore goes out at most `tick` late (its latency still counts from its
// due time, and the lag shows in sendLag).
inline DueQueue::TimePoint next_wake(DueQueue::TimePoint earliest, DueQueue::TimePoint last_wake,
                                     std::chrono::nanoseconds tick) {
    return std::max(earliest, last_wake + tick);
}

// Whether a timer already armed for `armed_for` should be moved earlier to
// `wanted`: only when that gains more than a tick, so that a schedule whose
// entries arrive slightly out of order does not cancel and re-arm the timer
// for each of them.
inline bool rearm_earlier(DueQueue::TimePoint armed_for, DueQueue::TimePoint wanted, std::chrono::nanoseconds tick) {
    return armed_for > wanted + tick;
}

}  // namespace benchdist::generator
