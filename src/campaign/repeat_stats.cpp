#include "benchdist/campaign/repeat_stats.hpp"

#include <algorithm>
#include <cmath>

namespace benchdist::campaign {

namespace {
double round2(double v) { return std::round(v * 100.0) / 100.0; }
}  // namespace

std::optional<double> median(std::vector<double> values) {
    if (values.empty()) return std::nullopt;
    std::sort(values.begin(), values.end());
    const auto n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

std::optional<Summary> summarize(std::vector<double> values) {
    if (values.empty()) return std::nullopt;
    Summary s;
    s.n = values.size();
    double sum = 0;
    for (double v : values) sum += v;
    s.mean = sum / static_cast<double>(s.n);
    double squares = 0;
    for (double v : values) squares += (v - s.mean) * (v - s.mean);
    s.stddev = s.n > 1 ? std::sqrt(squares / static_cast<double>(s.n - 1)) : 0.0;
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    s.min = *lo;
    s.max = *hi;
    s.median = *median(std::move(values));
    return s;
}

Json to_json(const Summary& s) {
    return Json{{"mean", round2(s.mean)}, {"median", round2(s.median)}, {"stddev", round2(s.stddev)},
                {"min", round2(s.min)},   {"max", round2(s.max)},       {"n", s.n}};
}

Summary summary_from_json(const Json& j) {
    if (!j.is_object()) throw CampaignError("a summary must be an object, got " + j.dump());
    Summary s;
    const auto number = [&](const char* key) {
        if (!j.contains(key) || !j[key].is_number())
            throw CampaignError(std::string("a summary's \"") + key + "\" must be a number, got " + j.dump());
        return j[key].get<double>();
    };
    s.mean = number("mean");
    s.median = number("median");
    s.stddev = number("stddev");
    s.min = number("min");
    s.max = number("max");
    s.n = static_cast<std::size_t>(number("n"));
    return s;
}

}  // namespace benchdist::campaign
