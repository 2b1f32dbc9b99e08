#include "benchdist/campaign/grid.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace benchdist::campaign {

namespace {

// A year: a longer window or warmup is a typo.
constexpr double kYearSeconds = 31536000.0;

std::string trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t");
    return std::string(s.substr(first, last - first + 1));
}

std::string number_text(double v) {
    char buf[64];
    // Whole numbers as integers (64, 4294967295), never 6.4e+01.
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    std::snprintf(buf, sizeof buf, "%.17g", v);
    // The shortest text that reads back the same value.
    for (int digits = 1; digits <= 17; ++digits) {
        char shorter[64];
        std::snprintf(shorter, sizeof shorter, "%.*g", digits, v);
        if (std::strtod(shorter, nullptr) == v) return shorter;
    }
    return buf;
}

}  // namespace

const std::vector<KnobInfo>& knobs() {
    static const std::vector<KnobInfo> all = {
        {"connections", true, true, 1, 1e9, "connectionsPerGenerator",
         "active connections in total, split over the participants"},
        {"connectionsPerGenerator", true, true, 1, 1e6, "connections", "active connections on every participant"},
        {"inflight", true, true, 1, 1e5, "", "calls in flight per connection"},
        {"rate", true, false, 0, 1e9, "ratePerGenerator", "open-loop calls/s over the fleet (0 = closed loop)"},
        {"ratePerGenerator", true, false, 0, 1e9, "rate", "open-loop calls/s on every participant"},
        {"alpha", true, false, 0, 100, "", "Zipf contention of the account pairs"},
        {"accounts", true, true, 2, 4294967295.0, "", "accounts the pairs are drawn from"},
        {"windowSeconds", false, false, 1, kYearSeconds, "", "the measured window, seconds"},
        {"warmupSeconds", false, false, 0, kYearSeconds, "warmupAuto", "the fixed warmup, seconds"},
    };
    return all;
}

const KnobInfo* find_knob(std::string_view name) {
    for (const auto& k : knobs())
        if (k.name == name) return &k;
    return nullptr;
}

std::string knob_names() {
    std::string out;
    for (const auto& k : knobs()) {
        if (!out.empty()) out += ", ";
        out += k.name;
    }
    return out;
}

std::string knob_value_problem(const KnobInfo& knob, double value) {
    const std::string range = (knob.integer ? "a whole number from " : "a number from ") + number_text(knob.min) +
                              " to " + number_text(knob.max);
    if (std::isnan(value) || std::isinf(value)) return std::string(knob.name) + " must be " + range;
    if (value < knob.min || value > knob.max)
        return std::string(knob.name) + " must be " + range + ", got " + number_text(value);
    if (knob.integer && value != std::floor(value))
        return std::string(knob.name) + " must be " + range + " (" + std::string(knob.meaning) + "), got " +
               number_text(value);
    return {};
}

std::string describe_value(const KnobInfo& knob, double value) {
    return std::string(knob.name) + "=" + number_text(value);
}

Json knob_json_value(const KnobInfo& knob, double value) {
    if (knob.integer) return Json(static_cast<std::uint64_t>(value));
    return Json(value);
}

Vary parse_vary(std::string_view text) {
    const auto eq = text.find('=');
    if (eq == std::string_view::npos)
        throw CampaignError("--vary \"" + std::string(text) + "\": expected knob=v1,v2,... (e.g. connections=64,128)");
    const std::string name = trim(text.substr(0, eq));
    const auto* knob = find_knob(name);
    if (!knob)
        throw CampaignError("--vary: unknown knob \"" + name + "\"; use one of " + knob_names() +
                            " (names are case-sensitive)");
    Vary v{name, {}};
    std::string_view rest = text.substr(eq + 1);
    std::set<double> seen;
    for (;;) {
        const auto comma = rest.find(',');
        const std::string item = trim(rest.substr(0, comma));
        if (item.empty())
            throw CampaignError("--vary " + name + ": an empty value in \"" + std::string(text.substr(eq + 1)) +
                                "\"; list values separated by commas, e.g. " + name + "=" +
                                number_text(knob->min == 0 ? 1 : knob->min) + "," +
                                number_text(knob->min == 0 ? 2 : 2 * knob->min));
        char* end = nullptr;
        const double value = std::strtod(item.c_str(), &end);
        if (end != item.c_str() + item.size())
            throw CampaignError("--vary " + name + ": \"" + item + "\" is not a number");
        if (auto problem = knob_value_problem(*knob, value); !problem.empty())
            throw CampaignError("--vary " + name + ": " + problem);
        if (!seen.insert(value).second)
            throw CampaignError("--vary " + name + ": " + number_text(value) +
                                " is listed twice; list each value once (use --repeat to measure a point again)");
        v.values.push_back(value);
        if (comma == std::string_view::npos) break;
        rest = rest.substr(comma + 1);
    }
    return v;
}

void check_varies(const std::vector<Vary>& varies) {
    if (varies.empty())
        throw CampaignError("a sweep needs at least one --vary knob=v1,v2,... (knobs: " + knob_names() + ")");
    std::set<std::string> names;
    for (const auto& v : varies) {
        if (!names.insert(v.knob).second)
            throw CampaignError("--vary " + v.knob + " is given twice; give each knob once with all its values (" +
                                v.knob + "=a,b,c)");
        if (v.values.empty()) throw CampaignError("--vary " + v.knob + " has no values");
    }
    for (const auto& v : varies) {
        const auto* knob = find_knob(v.knob);
        if (!knob) throw CampaignError("--vary: unknown knob \"" + v.knob + "\"; use one of " + knob_names());
        if (!knob->exclusive_with.empty() && names.count(std::string(knob->exclusive_with)))
            throw CampaignError("--vary " + v.knob + " and --vary " + std::string(knob->exclusive_with) +
                                " cannot be combined: they set the same thing two ways; vary one of them");
    }
}

std::vector<GridPoint> grid_points(const std::vector<Vary>& varies) {
    std::size_t total = 1;
    for (const auto& v : varies) total *= v.values.size();
    std::vector<GridPoint> points;
    if (varies.empty()) return points;
    points.reserve(total);
    for (std::size_t index = 0; index < total; ++index) {
        GridPoint p;
        p.index = index;
        // Mixed radix, the last vary the fastest digit.
        std::vector<std::size_t> digit(varies.size());
        std::size_t rest = index;
        for (std::size_t k = varies.size(); k-- > 0;) {
            digit[k] = rest % varies[k].values.size();
            rest /= varies[k].values.size();
        }
        for (std::size_t k = 0; k < varies.size(); ++k) {
            const auto& knob = *find_knob(varies[k].knob);
            const double value = varies[k].values[digit[k]];
            p.values[varies[k].knob] = knob_json_value(knob, value);
            if (!p.description.empty()) p.description += " ";
            p.description += describe_value(knob, value);
        }
        points.push_back(std::move(p));
    }
    return points;
}

Json apply_values(const Json& base, const Json& values) {
    Json request = base.is_object() ? base : Json::object();
    for (const auto& [name, value] : values.items()) {
        const auto* knob = find_knob(name);
        if (!knob) throw CampaignError("unknown knob \"" + name + "\" in a campaign point; use one of " + knob_names());
        Json& target = knob->in_load ? request["load"] : request;
        if (!target.is_object()) target = Json::object();
        if (!knob->exclusive_with.empty()) target.erase(std::string(knob->exclusive_with));
        if (name == "warmupSeconds") {
            // A fixed warmup replaces the steady-state one and its parameters.
            for (const char* key : {"stableCv", "stableSeconds", "warmupMaxSeconds"}) target.erase(key);
        }
        target[name] = value;
    }
    return request;
}

Json to_json(const Vary& vary) {
    const auto* knob = find_knob(vary.knob);
    Json values = Json::array();
    for (double v : vary.values) values.push_back(knob ? knob_json_value(*knob, v) : Json(v));
    return Json{{"knob", vary.knob}, {"values", values}};
}

Vary vary_from_json(const Json& j) {
    if (!j.is_object() || !j.contains("knob") || !j["knob"].is_string() || !j.contains("values") ||
        !j["values"].is_array())
        throw CampaignError("a \"vary\" entry must be {\"knob\": string, \"values\": [numbers]}, got " + j.dump());
    const auto name = j["knob"].get<std::string>();
    const auto* knob = find_knob(name);
    if (!knob) throw CampaignError("unknown knob \"" + name + "\" in the campaign's vary; use one of " + knob_names());
    Vary v{name, {}};
    for (const auto& value : j["values"]) {
        if (!value.is_number()) throw CampaignError("vary " + name + ": " + value.dump() + " is not a number");
        v.values.push_back(value.get<double>());
        if (auto problem = knob_value_problem(*knob, v.values.back()); !problem.empty())
            throw CampaignError("vary " + name + ": " + problem);
    }
    return v;
}

}  // namespace benchdist::campaign
