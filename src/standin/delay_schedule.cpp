#include "delay_schedule.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>

namespace benchdist::standin {

namespace {

// A whole decimal number up to `max`, or nullopt; 9 digits are below 2^32,
// so adding digits one by one cannot overflow before the check.
std::optional<std::uint64_t> whole_number(std::string_view text, std::uint64_t max) {
    if (text.empty() || text.size() > 9) return std::nullopt;
    std::uint64_t v = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v > max) return std::nullopt;
    return v;
}

}  // namespace

DelayScheduleParse parse_delay_schedule(std::optional<std::string_view> reply_us,
                                        std::optional<std::string_view> step_ms) {
    DelayScheduleParse out;
    if (!reply_us) {
        out.error =
            "replyUs is required: a comma-separated list of reply delays in microseconds, e.g. "
            "replyUs=8000,4000,2000,0&stepMs=1000";
        return out;
    }
    DelaySchedule s;
    std::string_view rest = *reply_us;
    for (;;) {
        const auto comma = rest.find(',');
        const auto item = rest.substr(0, comma);
        const auto v = whole_number(item, kMaxDebugDelayUs);
        if (!v) {
            out.error = "replyUs must be a comma-separated list of whole numbers of microseconds from 0 to " +
                        std::to_string(kMaxDebugDelayUs) + ", got \"" + std::string(item) + "\" in \"" +
                        std::string(*reply_us) + "\"";
            return out;
        }
        s.reply_us.push_back(*v);
        if (s.reply_us.size() > kMaxScheduleSteps) {
            out.error = "replyUs has more than " + std::to_string(kMaxScheduleSteps) +
                        " values: split the schedule, or use longer steps (stepMs)";
            return out;
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    if (step_ms) {
        const auto v = whole_number(*step_ms, kMaxScheduleStepMs);
        if (!v || *v == 0) {
            out.error = "stepMs must be a whole number of milliseconds from 1 to " +
                        std::to_string(kMaxScheduleStepMs) + ", got \"" + std::string(*step_ms) + "\"";
            return out;
        }
        s.step = std::chrono::milliseconds(*v);
    }
    out.schedule = std::move(s);
    return out;
}

struct ReplyDelaySchedule::State : std::enable_shared_from_this<State> {
    State(boost::asio::io_context& io, std::atomic<std::uint64_t>& target) : timer(io), target(target) {}

    // Under mu: the timer (used from the HTTP threads and its own handler)
    // and which schedule is current; a handler of a replaced schedule sees
    // another generation and does nothing.
    mutable std::mutex mu;
    boost::asio::steady_timer timer;
    std::atomic<std::uint64_t>& target;
    std::uint64_t generation = 0;
    bool stopped = false;
    std::vector<std::uint64_t> values;
    std::size_t next = 0;
    std::chrono::steady_clock::time_point started;
    std::chrono::milliseconds step{0};

    void arm_locked() {
        if (stopped || next >= values.size()) return;
        // On the schedule's own grid, so a late handler does not push every
        // later step back.
        timer.expires_at(started + step * static_cast<std::int64_t>(next));
        timer.async_wait([self = shared_from_this(), gen = generation](const boost::system::error_code& ec) {
            if (!ec) self->fire(gen);
        });
    }
    void fire(std::uint64_t gen) {
        std::lock_guard lock(mu);
        if (gen != generation || stopped || next >= values.size()) return;
        target.store(values[next++]);
        arm_locked();
    }
    void end_locked() {
        ++generation;
        values.clear();
        next = 0;
        timer.cancel();
    }
};

ReplyDelaySchedule::ReplyDelaySchedule(boost::asio::io_context& io, std::atomic<std::uint64_t>& reply_delay_us)
    : state_(std::make_shared<State>(io, reply_delay_us)) {}

ReplyDelaySchedule::~ReplyDelaySchedule() { stop(); }

void ReplyDelaySchedule::start(const DelaySchedule& schedule) {
    std::lock_guard lock(state_->mu);
    if (state_->stopped || schedule.reply_us.empty()) return;
    state_->end_locked();
    state_->values = schedule.reply_us;
    state_->step = schedule.step;
    state_->started = std::chrono::steady_clock::now();
    state_->target.store(state_->values[0]);
    state_->next = 1;
    state_->arm_locked();
}

void ReplyDelaySchedule::replace(std::optional<std::uint64_t> reply_us) {
    std::lock_guard lock(state_->mu);
    state_->end_locked();
    if (reply_us) state_->target.store(*reply_us);
}

void ReplyDelaySchedule::stop() {
    std::lock_guard lock(state_->mu);
    state_->stopped = true;
    state_->end_locked();
}

std::size_t ReplyDelaySchedule::pending_steps() const {
    std::lock_guard lock(state_->mu);
    return state_->values.size() - state_->next;
}

}  // namespace benchdist::standin
