// Held long-polls (GET /state?since=&wait=) and how they are answered: the
// waiters by deadline, which of them a state change or a deadline makes due,
// and the batched answer, in which one full snapshot and one rendering per
// distinct generator view serve every waiter. The hub has no lock and no
// thread of its own: the coordinator calls it under its mutex and delivers
// a prepared batch after releasing it, so a slow socket never holds the
// state machine.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"

namespace benchdist::coordinator {

// Which state a generator route answers with: the full state (every
// generator listed; the original's format) or the asking generator's
// compact view (control::SelfView; GET /state?id=<id>&view=self), whose
// cost does not grow with the fleet.
enum class StateView { Full, Self };

// A long-poll's answer and its compact JSON (control::compact(to_json(state))),
// rendered once per distinct answer in a batch and shared by every waiter
// that gets the same one.
using RenderedAnswer = std::function<void(const control::CoordinatorState& state, const std::string& compact_json)>;

class LongPollHub {
public:
    using Clock = std::chrono::steady_clock;

    // A held long-poll: answered through on_state (the plain form) or
    // on_rendered (with the answer's text). A Self watcher has a touch_id.
    struct Watcher {
        std::uint64_t since = 0;
        std::function<void(const control::CoordinatorState&)> on_state;
        RenderedAnswer on_rendered;
        std::optional<std::string> touch_id;
    };

    // The waiters made due by one pass, to be answered together.
    struct Due {
        std::vector<Watcher> full;
        std::vector<Watcher> self;
        bool empty() const { return full.empty() && self.empty(); }
    };

    // Answers prepared under the owner's lock, delivered after it is
    // released: the full snapshot once, and one state and text per distinct
    // generator view.
    class Batch {
    public:
        void deliver();

    private:
        friend class LongPollHub;
        struct Distinct {
            control::SelfView key;
            control::CoordinatorState state;
            std::string text;
        };
        std::vector<Watcher> full_;
        std::optional<control::CoordinatorState> full_state_;
        std::vector<Watcher> self_;
        std::vector<Distinct> distinct_;
        std::vector<std::size_t> which_;
    };

    // Holds `watcher` until `deadline`. `since` must be the view's current
    // version (a watcher behind it is answered at once, not held). Returns
    // whether the deadline is earlier than `planned_wake`, i.e. whether the
    // notifier must be woken to honour it.
    bool add(StateView view, std::uint64_t since, Clock::time_point deadline, Watcher watcher,
             Clock::time_point planned_wake);

    // Moves into `due` the watchers of `view` whose answer is due now: the
    // view's version moved past their since, their deadline passed, or
    // (`everyone`) the owner is shutting down.
    void take_due(StateView view, std::uint64_t version, Clock::time_point now, bool everyone, Due& due);

    // The earliest deadline held, if any.
    std::optional<Clock::time_point> next_deadline() const;
    std::size_t held() const { return full_.by_deadline.size() + self_.by_deadline.size(); }

    // Builds the answers for `due` (under the owner's lock): `full_state`
    // is called at most once, `view_of(id)` once per Self watcher.
    static Batch prepare(Due due, const std::function<control::CoordinatorState()>& full_state,
                         const std::function<control::CoordinatorState(const std::string& id)>& view_of);

private:
    // Held long-polls of one view by deadline, and the version their since
    // was checked against, so a version change answers them without a scan
    // per wake-up.
    struct WatcherSet {
        std::multimap<Clock::time_point, Watcher> by_deadline;
        std::uint64_t version = 0;
    };
    WatcherSet& set_of(StateView view) { return view == StateView::Self ? self_ : full_; }

    WatcherSet full_;
    WatcherSet self_;
};

}  // namespace benchdist::coordinator
