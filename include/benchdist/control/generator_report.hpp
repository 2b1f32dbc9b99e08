// What a generator says about itself and its load, as one schema for both
// ends: the manifest it sends with /register (tool version, options, and the
// workload that must match across generators), and the report it sends with
// /stopped (counters, settings, how and when the load ran, its clock offset
// to the coordinator, and the per-second intervals). Generators write these
// types and the coordinator reads them, so a key is named in one place. The
// keys are the wire format of earlier versions, byte for byte; every field
// is optional on the wire because the original harness's generators send
// none of them. Reading a report is tolerant -- a report is evidence, and a
// bad field becomes a warning in the result, never a refused request -- so a
// field that is absent or of the wrong type reads as absent (or, for the
// load and the intervals, as a problem the caller words). The manifest is
// checked strictly when /register is parsed (protocol.cpp), because a wrong
// type there would surface much later as a puzzling result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/control/report_counters.hpp"
#include "benchdist/stats/interval.hpp"

namespace benchdist::control {

// The options that change what a transfer costs or how load is offered
// (manifest.workload); the coordinator refuses to mix generators whose
// workloads differ. It compares the objects key by key as received, so a
// newer generator's added key is compared too.
struct WorkloadReport {
    double alpha = 1.5;
    std::uint32_t accounts = 0;
    std::string pair_mode;
    std::int64_t amount = 1;
    std::uint64_t max_inflight = 1;
    std::string rate_mode;  // "open" or "closed"
    std::string compression;
    std::optional<bool> confirmed_reads;  // null: the server's default
    std::string protocol;                 // "v3", "v2" or "auto"
};
// {"alpha", "accounts", "pairMode", "amount", "maxInflight", "rateMode",
// "compression", "confirmedReads", "protocol"}.
Json to_json(const WorkloadReport& w);

// The /register "manifest". `options` (every command-line option, for the
// result's reader) and `workload` are objects as received: the coordinator
// only copies the first and compares the second key by key.
struct RegisterManifest {
    std::optional<std::string> tool_version;
    std::optional<std::string> hostname;
    std::optional<std::int64_t> pid;
    std::optional<std::string> started_at;  // ISO-8601 UTC
    Json workload = nullptr;                // an object, or null when not sent
    Json options = nullptr;                 // an object, or null when not sent
    // True when the generator renews a lease: it contacts the coordinator
    // at least every leaseSeconds while it lives and stops its load when it
    // cannot. Only such generators are marked lost for silence; the
    // original harness's generators (which poll /state without their id and
    // never send this) keep its semantics: a dead one is found by its
    // missing stop acknowledgement.
    bool holds_lease = false;
    // Random per process, the same in /register and /ready: a new one under
    // a participant's id during an epoch means that generator restarted,
    // which the coordinator catches at once (its load before the restart
    // is missing from the reports).
    std::optional<std::string> incarnation;
    // True when the generator applies the load an epoch assigns it
    // (control/epoch_load.hpp: "load" in its /state view). The coordinator
    // refuses an epoch that sets its load over a participant that does not
    // say so (the original harness's generators, older ones of ours): they
    // would run their own command line and the result would describe a
    // load nobody ran.
    bool applies_epoch_load = false;
};
// {"toolVersion", "hostname", "pid", "startedAt", "workload", "options",
// "holdsLease", "incarnation", "appliesEpochLoad"}, each only when set
// (the booleans only when true).
Json to_json(const RegisterManifest& m);
// Strict: a manifest that is not an object, non-object "options" or
// "workload", non-string "toolVersion", "hostname" or "startedAt", or a
// non-boolean "holdsLease" or "appliesEpochLoad", or non-string "incarnation" throw ProtocolError
// naming the key. A "pid" that
// is not an integer is ignored.
RegisterManifest register_manifest_from_json(const Json& j);

// What the load ran with ("settings" in /stopped), e.g. whether every reply
// waited for durability.
struct ReportSettings {
    std::optional<std::uint64_t> connections;
    std::string compression;
    std::optional<bool> confirmed_reads;  // nullopt: "server default (true on v2/v3)"
    std::optional<std::string> protocol;  // nullopt: "v3 or v2, server's choice"
    std::uint32_t accounts = 0;
    double alpha = 0;
    std::string pair_mode;
    std::int64_t op_timeout_ms = 0;
    std::uint64_t max_inflight = 1;
    std::optional<double> rate;  // per second; nullopt: closed loop
};
Json to_json(const ReportSettings& s);
// Tolerant: only "connections" is read (what Little's law needs from an
// older generator without "load"); absent or not a count: nullopt.
ReportSettings report_settings_from_json(const Json& j);

// How load was offered and when it ran, by the generator's clock ("load").
struct ReportLoad {
    bool open = false;
    std::uint64_t max_inflight = 1;
    std::optional<std::uint64_t> connections;
    std::optional<double> rate_per_second;  // written as null when closed
    std::optional<double> started_at_ms;    // unix ms, generator clock
    std::optional<double> stopped_at_ms;
};
Json to_json(const ReportLoad& l);
// nullopt with `problem` set (e.g. "\"mode\" must be \"closed\" or \"open\"")
// when the shape cannot be used.
std::optional<ReportLoad> report_load_from_json(const Json& j, std::string& problem);

// The generator's estimate of its clock offset to the coordinator
// (coordinator = generator + offset), within ± rtt / 2 ("clock").
struct ReportClock {
    std::optional<double> offset_ms;
    std::optional<double> rtt_ms;
    std::optional<std::uint64_t> samples;
};
Json to_json(const ReportClock& c);
// Each number read when it is one; not an object: all absent.
ReportClock report_clock_from_json(const Json& j);

// What the generator process spent over the epoch's load, from the
// kernel's accounting ("resources", an addition): CPU of every thread (user
// + system), the wall time it was measured over, and the worker threads
// that carried the load -- so a result can tell a generator short of CPU
// from a server at its limit (cpuUs / (wallUs x threads) near 1).
struct ReportResources {
    std::uint64_t cpu_us = 0;
    std::uint64_t wall_us = 0;
    std::uint64_t threads = 0;
    friend bool operator==(const ReportResources&, const ReportResources&) = default;
};
Json to_json(const ReportResources& r);
// Tolerant: nullopt unless an object whose "cpuUs", "wallUs" and "threads"
// are all non-negative integers (the figure would mean nothing without any
// one of them).
std::optional<ReportResources> report_resources_from_json(const Json& j);

// The extra fields of a /stopped report. Absent members were not sent.
struct StopReport {
    std::optional<ReportCounters> counters;
    std::optional<ReportSettings> settings;
    std::optional<ReportLoad> load;
    // Set when "load" was sent but could not be read: what is wrong with it.
    std::optional<std::string> load_problem;
    std::optional<ReportClock> clock;
    std::optional<ReportResources> resources;
    // nullopt: not sent (or, when read, sent as an empty list).
    std::optional<std::vector<stats::Interval>> intervals;
    // Set when "intervals" was sent but could not be read: why.
    std::optional<std::string> intervals_problem;
};
// The report in the order generators have always sent it: counters,
// settings, load, intervals, clock, then the additions (resources) -- the intervals only when
// `with_intervals` (a coordinator that refused the body as too large gets
// the report without them).
Json to_json(const StopReport& r, bool with_intervals = true);
// Tolerant (see the top of this file); a report that is not an object
// reads as empty.
StopReport stop_report_from_json(const Json& j);

// The typed views of the requests that carry these. The additions travel in
// the requests' `extra`, so that keys unknown to this version, and their
// order, survive a parse and a write unchanged.
void set_manifest(RegisterRequest& request, const RegisterManifest& manifest);
// Read with register_manifest_from_json. nullopt when none was sent (an
// older generator), or when it would fail that check -- which a request
// from the network cannot, register_request_from_json having refused it.
std::optional<RegisterManifest> manifest_of(const RegisterRequest& request);
void set_negotiated_protocol(ReadyRequest& request, const std::string& protocol);
// nullopt when none was sent or it is not a string.
std::optional<std::string> negotiated_protocol_of(const ReadyRequest& request);
// The process's incarnation again in /ready (see RegisterManifest).
void set_incarnation(ReadyRequest& request, const std::string& incarnation);
// nullopt when none was sent or it is not a string.
std::optional<std::string> incarnation_of(const ReadyRequest& request);
void set_stop_report(EpochAckRequest& request, const StopReport& report, bool with_intervals = true);
StopReport stop_report_of(const EpochAckRequest& request);

}  // namespace benchdist::control
