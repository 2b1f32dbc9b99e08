// CallPipeline: the socket-free half of a StdbConnection -- the calls in
// flight on one connection and the bytes waiting to carry them. It hands out
// request ids, keeps one slot per call that may be in flight (max_inflight,
// reused, so a call allocates nothing once the buffers have grown), encodes
// each `transfer` CallReducer into an outbox, cuts the outbox into WebSocket
// messages (v3: every queued call up to the SDK's 256 KiB cap in one
// message; v2: one call per message), matches a ReducerResult to its call by
// request id, and ends calls whose deadline passed or whose connection went
// away. It knows nothing of sockets, timers or the clock: the connection
// (stdb_connection.cpp) passes the time in and does the I/O, so the
// bookkeeping is unit-tested on its own. Single-threaded, like the
// connection that owns it. A call's handler may call back into the pipeline
// (make a new call, or drop every call); the slots never move, so that is
// safe while the pipeline is walking them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "benchdist/stdb/subprotocol.hpp"

namespace benchdist::generator {

enum class CallStatus {
    Committed,      // Ok / OkEmpty
    ModuleError,    // Err(string): the reducer refused (e.g. insufficient_funds)
    InternalError,  // InternalError(string): panic, no such reducer, bad args...
    Timeout,        // no ReducerResult within the op timeout; the connection is then closed
    Disconnected,   // the connection ended (or was never open) before the result
};
std::string_view call_status_name(CallStatus s);

struct CallOutcome {
    CallStatus status = CallStatus::Committed;
    // Module/internal error text, or what ended the connection. Valid only
    // during the callback.
    std::string_view text;
    // When the outcome became known, on the steady clock: for a result, the
    // one clock reading its connection took for the whole read that carried
    // it (CallPipeline::begin_dispatch), so the handler needs no clock read
    // of its own; for a timeout, the check's time. Zero (time_since_epoch()
    // == 0) when the ending had no time at hand (a lost connection, a call
    // refused at once): the handler reads the clock itself then.
    std::chrono::steady_clock::time_point at{};
};

class CallPipeline {
public:
    using Clock = std::chrono::steady_clock;
    // A std::function holding a small lambda (one or two pointers) stores it
    // inline in libstdc++: no allocation per call.
    using CallHandler = std::function<void(const CallOutcome&)>;

    // The SDK's cap on one outgoing v3 message.
    static constexpr std::size_t kMaxV3FrameBytes = 256 * 1024;

    // 0 counts as 1.
    explicit CallPipeline(std::size_t max_inflight);

    std::size_t max_inflight() const { return slots_.size(); }
    // Room for up to max_inflight calls from now on (never fewer than
    // before): an epoch may ask for more calls in flight than the
    // connection opened with. Not from inside a call's handler (the slots
    // may move here).
    void raise_max_inflight(std::size_t max_inflight);
    std::size_t in_flight() const { return in_flight_; }
    bool full() const { return in_flight_ >= slots_.size(); }

    // Takes a free slot and a fresh request id (1, 2, ...) for CallReducer
    // transfer{from, to, amount} and appends the encoded message to the
    // outbox. Precondition: !full(). Returns the request id.
    std::uint32_t add_transfer(std::uint32_t from, std::uint32_t to, std::int64_t amount, Clock::time_point deadline,
                               std::chrono::milliseconds timeout, CallHandler done);

    // --- Writing: at most one message is being written at a time.

    // Something is queued and no write is under way.
    bool write_ready() const { return !writing_ && !outbox_sizes_.empty(); }
    // Precondition: write_ready(). Moves the next message's calls out of the
    // outbox into the write buffer and returns it; the bytes stay valid and
    // unchanged until finish_write() (whatever else is queued meanwhile).
    // Counts the message and its calls.
    std::span<const std::uint8_t> start_write(stdb::ProtocolVersion protocol);
    // The same, with `headroom` bytes of the buffer free in front of the
    // message, which the caller may write (a WebSocket frame header) and
    // the message's bytes it may change in place (masking) until
    // finish_write(): the lean ws:// path sends header and payload as one.
    std::span<std::uint8_t> start_write(stdb::ProtocolVersion protocol, std::size_t headroom);
    void finish_write() { writing_ = false; }
    // Forgets the calls not yet written (a closing connection sends no more);
    // a write under way keeps its buffer.
    void clear_outbox();

    // --- Results.

    // Ends the call with this request id (the handler runs before this
    // returns). False if no call in flight has that id (a late answer to a
    // call already timed out, or a stranger's).
    bool complete(std::uint32_t request_id, CallStatus status, std::string_view text);

    // While results of one server message are handed out, the calls their
    // handlers make should wait and leave in one message afterwards.
    // `now` is the connection's one clock reading for that read (issue 18,
    // item 3): every outcome of the batch carries it as CallOutcome::at, and
    // the calls made meanwhile take their deadline from it (batch_time()),
    // so a batch of completions costs one clock read, not several per call.
    void begin_dispatch(Clock::time_point now) {
        if (dispatching_++ == 0) batch_time_ = now;
    }
    void end_dispatch() { --dispatching_; }
    bool dispatching() const { return dispatching_ > 0; }
    // The time given to the outermost begin_dispatch; valid while dispatching().
    Clock::time_point batch_time() const { return batch_time_; }
    // What a call made now counts its deadline from: the batch's reading
    // inside a dispatch (a call made by a result's handler costs no clock
    // read), else a fresh one. Both data paths use it.
    Clock::time_point call_start_time() const { return dispatching() ? batch_time_ : Clock::now(); }

    // --- Deadlines and endings.

    struct DeadlineCheck {
        bool expired = false;                   // a call's deadline is at or before now
        std::optional<Clock::time_point> next;  // the earliest deadline after now, if any
    };
    DeadlineCheck check_deadlines(Clock::time_point now) const;
    // Every call whose deadline is at or before now ends as Timeout
    // ("no ReducerResult within <timeout> ms").
    void time_out_expired(Clock::time_point now);
    // Every call in flight ends as Disconnected with this text.
    void fail_all(std::string_view why);
    // Forgets every call without running its handler (the owner went away).
    void drop_all();

    // WebSocket messages started and the CallReducer messages they carried.
    std::uint64_t frames_sent() const { return frames_sent_; }
    std::uint64_t calls_sent() const { return calls_sent_; }

private:
    struct Slot {
        bool active = false;
        std::uint32_t request_id = 0;
        Clock::time_point deadline;
        std::chrono::milliseconds timeout{0};
        CallHandler done;
    };

    void end_call(Slot& slot, CallStatus status, std::string_view text, Clock::time_point at);

    std::vector<Slot> slots_;  // max_inflight, reused
    std::size_t in_flight_ = 0;
    std::uint32_t next_request_id_ = 1;
    // Encoded calls not yet written, and each one's size (for v2's one call
    // per message and v3's cap).
    std::vector<std::uint8_t> outbox_;
    std::vector<std::size_t> outbox_sizes_;
    std::vector<std::uint8_t> write_buffer_;
    bool writing_ = false;
    int dispatching_ = 0;
    Clock::time_point batch_time_{};
    std::uint64_t frames_sent_ = 0;
    std::uint64_t calls_sent_ = 0;
};

}  // namespace benchdist::generator
