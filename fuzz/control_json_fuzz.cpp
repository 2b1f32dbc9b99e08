// libFuzzer target for the control plane's JSON parsing: the request bodies
// the coordinator accepts from anyone who can reach its port
// (control::parse_body and the *_from_json parsers of protocol.hpp) and the
// per-interval statistics generators send with /stopped
// (stats::interval_from_json, intervals_from_json, LatencyHistogram). A
// rejection is any std::exception; a crash, a sanitizer report or another
// kind of throw is a finding.
//
// One property is checked on top: whatever a parser accepts, its own
// serializer writes JSON that the parser accepts again and that serializes
// identically. Otherwise a value the coordinator stored (a state, a result
// file) could not be read back by bench-dist-control or a later run.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/stats/interval.hpp"
#include "benchdist/stats/interval_series.hpp"
#include "benchdist/stats/latency_histogram.hpp"

namespace {

namespace control = benchdist::control;
namespace stats = benchdist::stats;
using control::Json;

[[noreturn]] void finding(const char* parser, const char* what) {
    std::fprintf(stderr, "control_json_fuzz: %s: %s\n", parser, what);
    std::abort();
}

// Runs parse on j; on success checks that serialize(parse(j)) is a fixed
// point of serialize(parse(.)).
template <typename Parse, typename Serialize>
void round_trip(const char* name, const Json& j, Parse&& parse, Serialize&& serialize) {
    Json first;
    try {
        first = serialize(parse(j));
    } catch (const std::exception&) {
        return;  // rejected: fine
    }
    Json second;
    try {
        second = serialize(parse(first));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "control_json_fuzz: %s refused its own output: %s\n%s\n", name, e.what(),
                     first.dump().c_str());
        finding(name, "serialized value does not parse back");
    }
    if (first != second) finding(name, "serialize(parse(serialize(x))) differs from serialize(x)");
}

void check_all_parsers(const Json& j) {
    round_trip("generator_snapshot_from_json", j, control::generator_snapshot_from_json,
               [](const auto& v) { return control::to_json(v); });
    round_trip("epoch_result_from_json", j, control::epoch_result_from_json,
               [](const auto& v) { return control::to_json(v); });
    round_trip("coordinator_state_from_json", j, control::coordinator_state_from_json,
               [](const auto& v) { return control::to_json(v); });
    round_trip("start_epoch_response_from_json", j, control::start_epoch_response_from_json,
               [](const auto& v) { return control::to_json(v); });
    round_trip("register_request_from_json", j, control::register_request_from_json,
               [](const auto& v) { return control::to_json(v); });
    round_trip("ready_request_from_json", j, control::ready_request_from_json,
               [](const auto& v) { return control::to_json(v); });
    round_trip("epoch_ack_request_from_json", j, control::epoch_ack_request_from_json,
               [](const auto& v) { return control::to_json(v); });
    round_trip("start_epoch_request_from_json", j, control::start_epoch_request_from_json,
               [](const auto& v) { return control::to_json(v); });
    round_trip("stats::interval_from_json", j, stats::interval_from_json,
               [](const auto& v) { return stats::interval_to_json(v); });
    round_trip("stats::intervals_from_json", j, stats::intervals_from_json,
               [](const auto& v) { return stats::intervals_to_json(v); });
    round_trip("LatencyHistogram::from_json", j, stats::LatencyHistogram::from_json,
               [](const auto& v) { return v.to_json(); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // What the coordinator's routes do with a body.
    try {
        check_all_parsers(control::parse_body(text));
    } catch (const std::exception&) {
    }
    // The parsers also read values nested in responses and result files,
    // where the top level need not be an object: feed them any JSON value.
    const Json any = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!any.is_discarded() && !any.is_object()) check_all_parsers(any);
    // A /stopped body carries its intervals under "intervals".
    if (!any.is_discarded() && any.is_object() && any.contains("intervals")) check_all_parsers(any.at("intervals"));
    return 0;
}
