// start-epoch, once or --runs N times.
#include <cstdio>
#include <iostream>

#include "benchdist/campaign/repeat_stats.hpp"
#include "benchdist/control/state_format.hpp"
#include "benchdist/control/verdict.hpp"
#include "benchdist/text/printable.hpp"
#include "commands.hpp"

namespace benchdist::control_tool {

namespace bc = benchdist::control;
namespace bcp = benchdist::campaign;

int run_start_epoch(const Coordinator& c, const bc::Json& request, const EpochRunOptions& options, bool json) {
    auto with_print = options;
    with_print.print_start = !json;
    with_print.live = options.live && !json;  // stdout is the result's JSON
    const auto run = run_epoch(c, request, with_print, std::cout);
    switch (run.end) {
        case EpochRun::End::Refused:
            if (json) std::cout << bc::pretty(bc::to_json(run.response));
            return 1;
        case EpochRun::End::Interrupted:
            return 130;
        case EpochRun::End::TimedOut:
            std::cerr << run.message << "\n";
            return 1;
        case EpochRun::End::Finished:
            break;
    }
    if (json) {
        std::cout << bc::pretty(run.result_json);
    } else {
        std::cout << bc::format_verdict(run.result) << bc::format_state(run.state)
                  << bc::format_result_details(run.result);
    }
    return result_failed(run.result) ? 1 : 0;
}

int run_runs(const Coordinator& c, const bc::Json& request, std::size_t runs, CampaignOptions options,
             bool request_given) {
    std::ostream& out = options.json ? std::cerr : std::cout;
    options.retries = 0;  // every run counts once: an invalid one is reported, not replaced
    bcp::Campaign fresh;
    fresh.kind = bcp::Kind::Runs;
    fresh.base = request;
    fresh.repeat = 1;
    for (std::size_t i = 0; i < runs; ++i) {
        bcp::PointRecord p;
        p.index = i;
        p.request = request;
        fresh.points.push_back(p);
    }
    bcp::ResumeRequest asked{.kind = bcp::Kind::Runs};
    if (request_given) asked.base = request;
    CampaignSession session(c, options, std::move(fresh), asked, out);
    auto& campaign = session.campaign();
    out << (session.resumed() ? "resuming" : "starting") << " " << campaign.points.size() << " runs, campaign "
        << campaign.id << " (" << session.path() << ")\n";
    session.save();
    if (const auto ended = run_every_point(session)) return *ended;
    std::vector<double> tps;
    std::size_t invalid = 0, not_valid_verdict = 0;
    for (const auto& p : campaign.points) {
        const auto& e = p.epochs.back();
        if (e.measured)
            tps.push_back(*e.tps);
        else
            ++invalid;
        if (e.verdict != "valid" && e.verdict != "none") ++not_valid_verdict;
    }
    campaign.result = bc::Json::object();
    if (const auto s = bcp::summarize(tps)) campaign.result["tps"] = bcp::to_json(*s);
    campaign.result["invalidRuns"] = invalid;
    session.end_complete();
    if (options.json) {
        std::cout << bc::pretty(bcp::to_json(campaign));
    } else if (const auto s = bcp::summarize(tps)) {
        char line[256];
        std::snprintf(line, sizeof line,
                      "TPS over %zu valid runs: mean %.2f, median %.2f, stddev %.2f, min %.2f, max %.2f; %zu "
                      "invalid\n",
                      s->n, s->mean, s->median, s->stddev, s->min, s->max, invalid);
        std::cout << line;
    } else {
        std::cout << "no valid run: no TPS to report; " << invalid << " invalid\n";
    }
    if (!options.json) std::cout << "campaign file: " << session.path() << "\n";
    return not_valid_verdict == 0 && invalid == 0 ? 0 : 1;
}

}  // namespace benchdist::control_tool
