// Campaigns: many epochs run as one experiment by bench-dist-control (a
// sweep over a grid of loads, a saturation search, N runs of one request),
// recorded in one campaign file. This component is the pure part -- the
// grid, the statistics over repeats, the campaign file's format, the
// saturation search -- so all of it is unit-tested without a coordinator;
// the tool does the HTTP and the waiting. docs/campaigns.md is the user's
// version of these comments.
//
// This file: the knobs a campaign may vary and the grid they make. Each
// knob is one key of the per-epoch start request (POST /admin/start-epoch,
// the load contract: `load.connections`, ..., `warmupSeconds`,
// `windowSeconds`), so a point of the grid is a set of request keys.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace benchdist::campaign {

using Json = nlohmann::ordered_json;

// A campaign input that cannot be used (a --vary, a campaign file to
// resume, a saturation option): the message names the problem and the fix.
class CampaignError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct KnobInfo {
    std::string_view name;  // as written after --vary, and the request key
    bool in_load = true;    // a key of the request's "load" object, or a top-level key
    bool integer = false;   // whole numbers only
    double min = 0;
    double max = 0;
    // The knob that may not be given with this one ("connections" and
    // "connectionsPerGenerator"; "rate" and "ratePerGenerator";
    // "warmupSeconds" and "warmupAuto"), or "".
    std::string_view exclusive_with;
    std::string_view meaning;  // for the usage message
};

// Every knob, in the order the usage message lists them.
const std::vector<KnobInfo>& knobs();
// The knob of that name, or nullptr.
const KnobInfo* find_knob(std::string_view name);
// "connections, connectionsPerGenerator, ..." for a message.
std::string knob_names();

// What is wrong with `value` for `knob` ("" when nothing): NaN, infinite,
// out of its range, or a fraction for a whole-number knob.
std::string knob_value_problem(const KnobInfo& knob, double value);

// One --vary: a knob and the values it takes, in the order given.
struct Vary {
    std::string knob;
    std::vector<double> values;
};

// Parses `knob=v1,v2,...`. Throws CampaignError naming the knob and the fix
// for an unknown knob, a missing '=', an empty list or item, a value that
// is not a number, out of range, a fraction for a whole-number knob, or a
// value listed twice.
Vary parse_vary(std::string_view text);

// Checks a campaign's --vary options together: at least one, no knob twice,
// not both knobs of an exclusive pair. Throws CampaignError.
void check_varies(const std::vector<Vary>& varies);

// One point of the grid.
struct GridPoint {
    std::size_t index = 0;  // 0-based, in run order
    // The varied knobs and their values, in --vary order: {"connections": 64, "alpha": 1.5}.
    Json values = Json::object();
    // "connections=64 alpha=1.5", for labels and lines.
    std::string description;
};

// The Cartesian product of the varies, the first --vary outermost (it
// changes slowest), values in the order given. Whole-number knobs are JSON
// integers. check_varies first.
std::vector<GridPoint> grid_points(const std::vector<Vary>& varies);

// `knob=value` with the value written as the knob's JSON writes it (64,
// 1.5), for point descriptions.
std::string describe_value(const KnobInfo& knob, double value);
// The value as JSON: an integer for a whole-number knob.
Json knob_json_value(const KnobInfo& knob, double value);

// The start request of one point: `base` (a start request, as
// bench-dist-control builds it from its flags) with the point's values set
// -- load knobs in base["load"], the others at the top level -- and each
// varied knob's exclusive partner removed from the base (varying
// connections drops a base connectionsPerGenerator; varying warmupSeconds
// drops warmupAuto and its steady-state keys).
Json apply_values(const Json& base, const Json& values);

Json to_json(const Vary& vary);
// Reads a campaign file's "vary" entry back; throws CampaignError.
Vary vary_from_json(const Json& j);

}  // namespace benchdist::campaign
