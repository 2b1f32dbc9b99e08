// LoadSession: a generator's connections and the workers that load them. It opens
// `concurrency` SpacetimeDB connections with at most `open_parallelism`
// handshakes in flight (lanes, as the original harness: lane L opens
// connections L, L+lanes, ... one after another), shards them over
// `threads` worker threads that each run their own io_context, and on
// start(epoch) turns every connection into a worker walking the shared
// precomputed pairs from the harness's per-worker offset. An epoch may run
// fewer of them (EpochSettings: the first n connections work, spread evenly
// over the threads, the rest stay open and idle), with its own calls in
// flight, rate and pairs; what it leaves out is the session's option. Closed loop (the
// default, rate 0) keeps max_inflight calls in flight per connection (1 =
// the original harness); open loop (rate > 0) sends rate calls per second
// spread evenly over the connections on a fixed schedule whatever the
// answers do, at most max_inflight in flight per connection, and measures
// each call from when it was due (coordinated omission corrected) as well
// as from when it was sent. Counters are per thread and merged on demand,
// so the hot path takes no lock. Each thread also keeps a per-second timeline
// (stats::IntervalRecorder): every call's latency -- steady clock from
// just before its request is handed to the connection (closed loop: service
// time) or from when it fell due (open loop; the service time goes beside
// it, and each send's lag behind its schedule too) to its ReducerResult --
// in the interval of the wall-clock time at which it completed, and each
// failure by kind.
// A protocol error (a server message a connection cannot take, see
// protocol_errors.hpp) closes that connection like a dropped one -- its calls
// count as disconnects and it is reopened -- and is counted by kind in
// LoadCounters::protocol_errors and logged through `log`, rate-limited per
// session and epoch.
// Once a second a thread hands its finished intervals to a session-wide
// timeline (one short lock, off the per-call path), so memory grows with
// the run's seconds, not with seconds x threads.
//
// Op timeouts (a deliberate change from the original, which let a second
// request fly on a connection whose first one timed out): a call without a
// result within op_timeout counts as a timeout, the connection is closed
// (its other calls in flight count as disconnects) and the worker opens a
// fresh one and continues. A connection the server dropped (a call in
// flight failed as a disconnect, or open loop found it closed) is handled
// the same way. A reopen that fails (the server is down or restarting) is
// tried again after a capped backoff -- 100 ms doubling to 5 s, half of
// each step randomised -- for as long as the epoch runs; every success
// counts in `reopened`, every failed try in `reopen_failures`. stop() and
// close_all() cancel a pending backoff rather than wait for it.
//
// The public functions are for one controlling thread (the generator's main
// loop or a test) and must not be called from a worker thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/generator/io_backend.hpp"
#include "benchdist/generator/load_counters.hpp"
#include "benchdist/generator/transfer_pairs.hpp"
#include "benchdist/stats/interval_series.hpp"
#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdb/subprotocol.hpp"

namespace benchdist::generator {

// Opening failed (with how many had opened and the first error), or the
// session was used out of order.
class LoadSessionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kDefaultOpenParallelism = 128;
inline constexpr std::chrono::milliseconds kDefaultOpTimeout{15000};

// See LoadSessionOptions::schedule_tick.
inline constexpr std::chrono::microseconds kDefaultScheduleTick{1000};

struct LoadSessionOptions {
    stdb::Endpoint endpoint;
    std::string database = "test-1";
    std::size_t concurrency = 0;                             // connections = workers; must be >= 1
    std::size_t open_parallelism = kDefaultOpenParallelism;  // 0 counts as 1
    std::size_t threads = 0;                                 // 0: hardware threads; never more than concurrency
    std::chrono::milliseconds op_timeout = kDefaultOpTimeout;
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds handshake_timeout{10000};
    std::chrono::milliseconds close_timeout{2000};
    // A connection with no frame from the server for this long is pinged,
    // then given up (ConnectionOptions::idle_timeout); 0: never.
    std::chrono::milliseconds idle_timeout{30000};
    stdb::Compression compression = stdb::Compression::None;  // always sent
    std::optional<bool> confirmed;                            // sent only when set
    std::optional<stdb::ProtocolVersion> protocol;            // nullopt: offer v3 and v2
    std::string token;
    std::int64_t amount = 1;
    std::size_t max_inflight = 1;  // calls in flight per connection; 0 counts as 1
    double rate_per_second = 0;    // 0: closed loop; > 0: open loop at this total rate
    // Open loop: a worker thread's schedule timer wakes it at most once per
    // tick and sends every call due by then, so a call goes out up to one
    // tick late (counted in its latency and send lag). 0: a wake-up per due
    // call, which costs more CPU than the call itself at high rates.
    std::chrono::nanoseconds schedule_tick = kDefaultScheduleTick;
    stats::IntervalOptions intervals;  // 1000 ms, 3 significant digits
    // Local addresses (IPv4 or IPv6 literals, one family) the connections
    // leave from: connection i binds to source_addresses[i % n], and so does
    // every connection that later replaces it. Each address has its own
    // ~28k ephemeral ports per destination, so n addresses let one
    // generator hold about n x 28k connections to one server. Empty: the
    // kernel chooses. Usually from parse_source_addresses (source_addresses.hpp).
    std::vector<std::string> source_addresses;
    // What carries plain ws:// connections after their handshake
    // (io_backend.hpp). Uring when io_uring cannot be used here: the
    // constructor throws LoadSessionError saying why.
    IoBackend io_backend = IoBackend::Auto;
    // Where the session's own log lines go -- protocol errors (the server
    // sent what a connection cannot take: the first few one line each, then
    // a summary per 10 s; see protocol_errors.hpp) -- one line per call,
    // from any thread, never two at once. Empty: standard error.
    std::function<void(const std::string&)> log;
};

class LoadSession {
public:
    // Called on the controlling thread when the number of open connections
    // grew: every 100 ms at most while they open, and once at the end.
    using Progress = std::function<void(std::size_t opened, std::size_t total)>;

    // Starts the worker threads. Throws LoadSessionError for concurrency 0
    // or source_addresses that validate_source_addresses refuses (its
    // message), std::runtime_error if the server's host cannot be resolved.
    // The pairs are shared read-only by every worker.
    LoadSession(LoadSessionOptions options, std::shared_ptr<const TransferPairs> pairs);
    // Closes what is still open (bounded by close_timeout) and joins the threads.
    ~LoadSession();
    LoadSession(const LoadSession&) = delete;
    LoadSession& operator=(const LoadSession&) = delete;

    // Opens every connection. On any failure closes everything and throws
    // LoadSessionError: "opened 3 of 20 connections to ws://...; first error: ...".
    // A source address that is not this host's fails here ("... first error:
    // connection 1: --source-addresses 10.9.9.9: cannot bind: Cannot assign
    // requested address -- give addresses of this host's interfaces ...").
    void open_all(const Progress& progress = {});

    // One epoch's load, where it differs from the session's options (an
    // epoch's assignment from the coordinator, control/epoch_load.hpp).
    struct EpochSettings {
        // Connections that carry load: workers 0..n-1 (worker w runs on
        // thread w % threads, so they spread evenly); the others stay open
        // and idle. More than are open: all of them (and a log line).
        std::optional<std::size_t> connections;
        std::optional<std::size_t> max_inflight;  // per connection; 0 counts as 1
        std::optional<double> rate;               // calls/s over the active connections; 0: closed loop
        // The pairs to walk, shared read-only by the workers and kept until
        // the next start (null: the session's own).
        std::shared_ptr<const TransferPairs> pairs;
    };

    // Resets the counters and starts the epoch's workers, each at its
    // initial pair index among the active ones (worker w of n starts where
    // the harness's worker w of n did). Returns once every thread has
    // started its workers. Throws LoadSessionError for a rate that is not a
    // finite number >= 0 or empty pairs (nothing is started then).
    void start(std::uint64_t epoch, const EpochSettings& settings);
    void start(std::uint64_t epoch) { start(epoch, EpochSettings{}); }

    // What the current (or last) epoch ran: active connections, calls in
    // flight per connection, rate (0: closed loop) and its pairs. Before the
    // first start: the session's options.
    struct EpochRun {
        std::size_t connections = 0;
        std::size_t max_inflight = 1;
        double rate = 0;
        std::shared_ptr<const TransferPairs> pairs;
    };
    EpochRun epoch_run() const;

    // Stops issuing and waits until every worker's current operation has
    // finished, at most op_timeout + connect_timeout (a worker may be
    // reopening a connection). False if some were still busy at the deadline.
    bool stop();

    // Waits until the current epoch's merged committed count reaches target
    // (true) or the timeout passes (false). For tests and progress lines.
    bool wait_for_committed(std::uint64_t target, std::chrono::milliseconds timeout);

    // The current (or last) epoch's counters, merged over threads.
    LoadCounters counters() const;

    // The current (or last) epoch's per-interval outcomes and latencies,
    // merged over threads (sorted by start), and forgets them. Called after
    // stop() it is the whole epoch; called while running it returns what
    // was recorded so far, and the interval in progress may show up again
    // in a later call with the rest of its outcomes (merge by start).
    // Its totals agree with counters() except skipped same-account pairs,
    // which were never attempted. start() clears it too.
    std::vector<stats::Interval> take_intervals();
    // Only the intervals the worker threads have already handed over (each
    // does once a second, when an interval of its ended), and forgets them:
    // no call into the worker threads, so a caller that takes once a second
    // while load runs (progress, metrics) never stalls the load. The
    // seconds still in the threads' recorders come with a later call, or
    // with take_intervals() after stop().
    std::vector<stats::Interval> take_finished_intervals();

    // Close frames on every connection, waiting at most `bound` in total.
    void close_all(std::chrono::milliseconds bound = std::chrono::milliseconds(5000));

    // WebSocket messages the current connections wrote and the calls they
    // carried (connections replaced after a failure are not counted): on v3
    // with several calls in flight, fewer messages than calls.
    struct WriteStats {
        std::uint64_t messages = 0;
        std::uint64_t calls = 0;
    };
    WriteStats write_stats() const;

    std::optional<std::uint64_t> running_epoch() const;
    // Wall-clock unix ms at which the current (or last) epoch's workers
    // started and stopped issuing calls (stopped: nullopt while running).
    // The coordinator uses them to weigh the intervals at the window's edges.
    std::optional<std::int64_t> load_started_unix_ms() const;
    std::optional<std::int64_t> load_stopped_unix_ms() const;
    std::size_t opened() const;            // connections that completed open_all
    std::size_t live_connections() const;  // open right now
    std::size_t thread_count() const;
    // The data path of its connections: "epoll" or "io_uring" for ws://,
    // "beast" for wss:// (and the lean path off).
    std::string_view io_backend() const;
    std::size_t concurrency() const;
    // The protocol the server chose for the first connection that opened
    // (every connection offers the same), nullopt before any opened.
    std::optional<stdb::ProtocolVersion> negotiated_protocol() const;
    // "ws://127.0.0.1:3000/v1/database/test-1/subscribe?compression=None", for logs.
    std::string url() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace benchdist::generator
