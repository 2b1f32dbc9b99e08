#include "benchdist/coordinator/long_poll_hub.hpp"

#include <algorithm>
#include <iterator>

namespace benchdist::coordinator {

bool LongPollHub::add(StateView view, std::uint64_t since, Clock::time_point deadline, Watcher watcher,
                      Clock::time_point planned_wake) {
    auto& set = set_of(view);
    // A set that is empty has no version checked yet: it starts at `since`,
    // which is the current version.
    if (set.by_deadline.empty()) set.version = since;
    set.by_deadline.emplace(deadline, std::move(watcher));
    // Long-polls of one length arrive in deadline order: the notifier
    // already sleeps until an earlier one, so waking it would only cost a
    // scan per request.
    return deadline < planned_wake;
}

void LongPollHub::take_due(StateView view, std::uint64_t version, Clock::time_point now, bool everyone, Due& due) {
    auto& set = set_of(view);
    auto& out = view == StateView::Self ? due.self : due.full;
    auto& held = set.by_deadline;
    if (everyone) {
        for (auto& [deadline, w] : held) out.push_back(std::move(w));
        held.clear();
        return;
    }
    if (version != set.version) {
        // Every held watcher waited on an older version, except those added
        // after the change but before this pass (their since is current).
        for (auto it = held.begin(); it != held.end();) {
            if (it->second.since != version) {
                out.push_back(std::move(it->second));
                it = held.erase(it);
            } else {
                ++it;
            }
        }
        set.version = version;
    }
    while (!held.empty() && held.begin()->first <= now) {
        out.push_back(std::move(held.begin()->second));
        held.erase(held.begin());
    }
}

std::optional<LongPollHub::Clock::time_point> LongPollHub::next_deadline() const {
    std::optional<Clock::time_point> next;
    for (const auto* set : {&full_, &self_})
        if (!set->by_deadline.empty() && (!next || set->by_deadline.begin()->first < *next))
            next = set->by_deadline.begin()->first;
    return next;
}

LongPollHub::Batch LongPollHub::prepare(
    Due due, const std::function<control::CoordinatorState()>& full_state,
    const std::function<control::CoordinatorState(const std::string& id)>& view_of) {
    Batch b;
    if (!due.full.empty()) b.full_state_ = full_state();
    // A view's text depends only on these fields of the generator (the rest
    // is the same for everyone in one batch), so a fleet gets a handful of
    // distinct answers, each built once. Its share of an epoch's load is one
    // of them: shares split in proportion to opened connections differ, and
    // a generator must never get another's.
    b.which_.reserve(due.self.size());
    for (const auto& w : due.self) {
        auto view = view_of(*w.touch_id);
        const auto& v = *view.self;
        auto it = std::find_if(b.distinct_.begin(), b.distinct_.end(), [&](const Batch::Distinct& d) {
            return d.key.participant == v.participant && d.key.included == v.included &&
                   d.key.local_state == v.local_state && d.key.load == v.load;
        });
        if (it == b.distinct_.end()) {
            b.distinct_.push_back(Batch::Distinct{v, std::move(view), {}});
            it = std::prev(b.distinct_.end());
        }
        b.which_.push_back(static_cast<std::size_t>(it - b.distinct_.begin()));
    }
    b.full_ = std::move(due.full);
    b.self_ = std::move(due.self);
    return b;
}

void LongPollHub::Batch::deliver() {
    std::string full_text;
    for (auto& w : full_) {
        if (w.on_state) {
            w.on_state(*full_state_);
        } else {
            if (full_text.empty()) full_text = control::compact(control::to_json(*full_state_));
            w.on_rendered(*full_state_, full_text);
        }
    }
    for (auto& d : distinct_) d.text = control::compact(control::to_json(d.state));
    for (std::size_t i = 0; i < self_.size(); ++i) {
        const auto& d = distinct_[which_[i]];
        self_[i].on_rendered(d.state, d.text);
    }
}

}  // namespace benchdist::coordinator
