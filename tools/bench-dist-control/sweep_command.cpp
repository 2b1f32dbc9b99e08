// sweep: every point of the --vary grid, --repeat times each.
#include <cstdio>
#include <iostream>

#include "benchdist/campaign/grid.hpp"
#include "benchdist/text/printable.hpp"
#include "commands.hpp"

namespace benchdist::control_tool {

namespace bc = benchdist::control;
namespace bcp = benchdist::campaign;

namespace {

void print_table(std::ostream& out, const bcp::Campaign& campaign) {
    out << "point  status   TPS median  (min .. max, n)        p99 median  invalid  description\n";
    for (const auto& p : campaign.points) {
        const auto j = bcp::point_json(p, campaign.repeat, campaign.retries);
        char line[512];
        if (j.contains("tps")) {
            const auto& t = j["tps"];
            const double p99 = j["latency"].value("p99Us", -1.0);
            char p99_text[32] = "n/a";
            if (p99 >= 0) std::snprintf(p99_text, sizeof p99_text, "%.2f ms", p99 / 1000.0);
            std::snprintf(line, sizeof line, "%5zu  %-7s  %10.0f  (%.0f .. %.0f, %zu)%*s %10s  %7zu  ", p.index,
                          j["status"].get<std::string>().c_str(), t["median"].get<double>(), t["min"].get<double>(),
                          t["max"].get<double>(), t["n"].get<std::size_t>(), 4, "", p99_text,
                          j["invalidEpochs"].get<std::size_t>());
        } else {
            std::snprintf(line, sizeof line, "%5zu  %-7s  %10s  %-23s %10s  %7zu  ", p.index,
                          j["status"].get<std::string>().c_str(), "-", "", "-", j["invalidEpochs"].get<std::size_t>());
        }
        out << line << text::printable(p.description);
        if (p.status == bcp::PointStatus::Invalid && !p.epochs.empty()) {
            std::string codes;
            for (const auto& r : p.epochs.back().reasons) codes += (codes.empty() ? "" : ",") + r.code;
            out << "  (" << codes << ")";
        }
        out << "\n";
    }
}

}  // namespace

int run_sweep(const Coordinator& c, const SweepArgs& args, const CampaignOptions& options) {
    std::ostream& out = options.json ? std::cerr : std::cout;
    std::vector<bcp::Vary> varies;
    try {
        for (const auto& text : args.vary) varies.push_back(bcp::parse_vary(text));
        if (options.resume.empty() || !varies.empty()) bcp::check_varies(varies);
    } catch (const bcp::CampaignError& e) {
        throw UsageError(e.what());
    }
    bcp::Campaign fresh;
    fresh.kind = bcp::Kind::Sweep;
    fresh.base = args.base;
    fresh.vary = varies;
    fresh.repeat = args.repeat;
    if (options.resume.empty()) {
        for (const auto& g : bcp::grid_points(varies)) {
            bcp::PointRecord p;
            p.index = g.index;
            p.values = g.values;
            p.description = g.description;
            p.request = bcp::apply_values(args.base, g.values);
            fresh.points.push_back(std::move(p));
        }
    }
    bcp::ResumeRequest asked{.kind = bcp::Kind::Sweep};
    if (args.base_given) asked.base = args.base;
    if (!varies.empty()) asked.vary = varies;
    if (args.repeat_given) asked.repeat = args.repeat;
    CampaignSession session(c, options, std::move(fresh), asked, out);
    auto& campaign = session.campaign();
    std::size_t finished = 0;
    for (const auto& p : campaign.points)
        finished += bcp::point_progress(p, campaign.repeat, campaign.retries).finished() ? 1 : 0;
    out << (session.resumed() ? "resuming" : "starting") << " sweep " << campaign.id << ": " << campaign.points.size()
        << " points x " << campaign.repeat << " repeats"
        << (finished ? ", " + std::to_string(finished) + " already finished" : std::string()) << " (" << session.path()
        << ")\n"
        << std::flush;
    session.save();
    if (const auto ended = run_every_point(session)) return *ended;
    session.end_complete();
    std::size_t invalid = 0;
    for (const auto& p : campaign.points) invalid += p.status == bcp::PointStatus::Invalid ? 1 : 0;
    if (options.json) {
        std::cout << bc::pretty(bcp::to_json(campaign));
    } else {
        print_table(std::cout, campaign);
        std::cout << campaign.points.size() - invalid << " of " << campaign.points.size()
                  << " points valid; campaign file: " << session.path() << "\n";
    }
    return invalid == 0 ? 0 : 1;
}

}  // namespace benchdist::control_tool
