// saturate: the saturation search (campaign/saturation.hpp) run as epochs.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "benchdist/campaign/saturation.hpp"
#include "benchdist/text/printable.hpp"
#include "commands.hpp"
#include "interrupts.hpp"

namespace benchdist::control_tool {

namespace bc = benchdist::control;
namespace bcp = benchdist::campaign;

namespace {

// Defaults of --start and --max per knob: from one connection per
// participant (every participant runs at least one, so fewer would be
// refused), one call in flight or 1000 calls/s, up to far past what a
// single server takes.
double default_start(const std::string& knob, std::size_t participants) {
    if (knob == "connections") return static_cast<double>(std::max<std::size_t>(participants, 1));
    return knob == "rate" ? 1000 : 1;
}

// The generators an epoch of this request would take: those it names, or
// every ready and included one, as the coordinator chooses them.
std::size_t participants_of(const Coordinator& c, const bc::Json& base) {
    if (base.contains("generatorIds") && base["generatorIds"].is_array()) return base["generatorIds"].size();
    std::size_t n = 0;
    for (const auto& g : c.state().generators) n += g.included && g.local_state == bc::GeneratorState::Ready ? 1 : 0;
    return n;
}
double default_max(const std::string& knob) {
    if (knob == "connections") return 65536;
    if (knob == "inflight") return 4096;
    return 1e7;
}

std::string curve_line(const std::string& knob, double load, const bcp::LoadOutcome& o, bool bad_rate) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s=%.6g: ", knob.c_str(), load);
    std::string line = buf;
    if (!o.measured) return line + "invalid after its retries";
    std::snprintf(buf, sizeof buf, "%.0f TPS, ", o.tps.value_or(0));
    line += buf + bcp::latency_text(o.latency);
    line += o.slo_ok ? ", SLOs met" : ", SLO broken";
    if (bad_rate) line += ", below 95% of the offered rate";
    line += ", generators limited: " + std::string(bcp::generator_limit_name(o.generator_limited));
    return line;
}

}  // namespace

int run_saturate(const Coordinator& c, const SaturateArgs& args, const CampaignOptions& options) {
    std::ostream& out = options.json ? std::cerr : std::cout;
    if (args.base.contains("load") && args.base["load"].is_object()) {
        const auto* varied = bcp::find_knob(args.knob);
        for (const auto& key : {std::string(varied->name), std::string(varied->exclusive_with)})
            if (!key.empty() && args.base["load"].contains(key))
                throw UsageError("saturate --knob " + args.knob + " varies the load's " + args.knob +
                                 ": drop the flag that sets \"" + key + "\" and give --start and --max instead");
    }
    bcp::SaturationOptions search_options{
        .knob = args.knob,
        .start = args.start ? *args.start
                            : default_start(args.knob, args.knob == "connections" ? participants_of(c, args.base) : 1),
        .max = args.max.value_or(default_max(args.knob)),
        .precision = args.precision};
    if (auto problem = bcp::saturation_options_problem(search_options); !problem.empty()) throw UsageError(problem);
    auto base = args.base;
    base["thresholds"] = args.slos;
    auto saturate_json = bcp::to_json(search_options);
    saturate_json["slos"] = args.slos;

    bcp::Campaign fresh;
    fresh.kind = bcp::Kind::Saturate;
    fresh.base = base;
    fresh.saturate = saturate_json;
    bcp::ResumeRequest asked{.kind = bcp::Kind::Saturate};
    if (args.base_given) asked.base = base;
    if (options.resume.empty() || !args.slos.empty()) asked.saturate = saturate_json;
    CampaignSession session(c, options, std::move(fresh), asked, out);
    auto& campaign = session.campaign();
    if (session.resumed()) {
        // The file's search, replayed.
        const auto& s = campaign.saturate;
        try {
            search_options.knob = s.at("knob").get<std::string>();
            search_options.start = s.at("start").get<double>();
            search_options.max = s.at("max").get<double>();
            search_options.precision = s.at("precision").get<double>();
        } catch (const std::exception& e) {
            throw UsageError("--resume: the campaign's \"saturate\" options cannot be read: " + std::string(e.what()));
        }
    }
    bcp::SaturationSearch search(search_options);
    const auto* knob = bcp::find_knob(search_options.knob);
    // Replay the finished points: the search is deterministic, so it asks
    // for the same loads again and gets the outcomes recorded.
    for (const auto& p : campaign.points) {
        if (!bcp::point_progress(p, campaign.repeat, campaign.retries).finished()) break;
        const auto next = search.next_load();
        const auto recorded = p.values.value(search_options.knob, -1.0);
        if (!next || *next != recorded)
            throw UsageError("--resume: the campaign's point " + std::to_string(p.index) + " (" + p.description +
                             ") is not the load this search would try next; the file was not written by this "
                             "search, or was edited");
        search.record(bcp::outcome_of(p.epochs.back()));
    }
    out << (session.resumed() ? "resuming" : "starting") << " saturation search " << campaign.id << ": "
        << search_options.knob << " from " << search_options.start << " to at most " << search_options.max << " ("
        << session.path() << ")\n"
        << std::flush;
    session.save();
    install_interrupt_handler();
    while (const auto load = search.next_load()) {
        bcp::PointRecord* point = nullptr;
        if (!campaign.points.empty() &&
            !bcp::point_progress(campaign.points.back(), campaign.repeat, campaign.retries).finished())
            point = &campaign.points.back();  // a resumed, unfinished point
        if (!point) {
            bcp::PointRecord p;
            p.index = campaign.points.size();
            p.values[search_options.knob] = bcp::knob_json_value(*knob, *load);
            p.description = bcp::describe_value(*knob, *load);
            p.request = bcp::apply_values(campaign.base, p.values);
            campaign.points.push_back(std::move(p));
            point = &campaign.points.back();
        }
        const auto end = run_point_or_fail(session, *point);
        using K = CampaignSession::PointEnd::Kind;
        if (end.kind == K::Interrupted) return session.end_interrupted(end.message);
        if (end.kind == K::Refused && point->epochs.empty() && point->index > 0) {
            // More load than the fleet can give: the end of the search, not a failure of it.
            campaign.points.pop_back();
            search.record_refused(end.message);
            out << "  curve: " << search_options.knob << "=" << *load << ": refused by the coordinator\n";
            break;
        }
        if (end.kind != K::Finished) return session.end_failed(end.message);
        const auto outcome = bcp::outcome_of(point->epochs.back());
        search.record(outcome);
        const bool bad_rate =
            search_options.knob == "rate" && outcome.measured && outcome.tps.value_or(0) < bcp::kRateKeptShare * *load;
        out << "  curve: " << curve_line(search_options.knob, *load, outcome, bad_rate) << "\n" << std::flush;
        campaign.result = search.result_json();
        session.save();
    }
    campaign.result = search.result_json();
    session.end_complete();
    const auto knee = search.knee();
    if (options.json) {
        std::cout << bc::pretty(bcp::to_json(campaign));
    } else {
        std::cout << "curve (" << search_options.knob << " ascending):\n";
        for (const auto& p : campaign.result["curve"]) {
            bcp::LoadOutcome o;
            o.measured = p["measured"].get<bool>();
            o.tps = p.contains("tps") ? std::optional<double>(p["tps"].get<double>()) : std::nullopt;
            o.slo_ok = p["sloOk"].get<bool>();
            if (p.contains("latency")) o.latency = p["latency"];
            o.generator_limited = bcp::generator_limit_from_name(p["generatorLimited"].get<std::string>());
            const double l = p["load"].get<double>();
            std::cout << "  "
                      << curve_line(search_options.knob, l, o,
                                    search_options.knob == "rate" && o.measured &&
                                        o.tps.value_or(0) < bcp::kRateKeptShare * l)
                      << "\n";
        }
        if (knee) {
            char line[256];
            std::snprintf(line, sizeof line, "knee: %s=%.6g, %.0f TPS, ", search_options.knob.c_str(), knee->load,
                          knee->tps);
            std::cout << line << bcp::latency_text(knee->latency) << "\n";
        } else {
            std::cout << "knee: none\n";
        }
        std::cout << "stop reason: " << bcp::stop_reason_name(*search.stop_reason())
                  << "\nlimit: " << bcp::limit_name(search.limit()) << "\n"
                  << text::printable(search.message()) << "\ncampaign file: " << session.path() << "\n";
    }
    const bool server_knee = knee && search.limit() == bcp::Limit::Server;
    return server_knee || search.stop_reason() == bcp::StopReason::MaxReached ? 0 : 1;
}

}  // namespace benchdist::control_tool
