#include "campaign_session.hpp"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>

#include "benchdist/text/printable.hpp"
#include "interrupts.hpp"

namespace benchdist::control_tool {

namespace bcp = benchdist::campaign;

namespace {

std::int64_t now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string epoch_line(const bcp::EpochRecord& e) {
    std::string line = "epoch " + std::to_string(e.epoch) + " [" + text::printable(e.label) + "]: ";
    if (e.measured) {
        char tps[64];
        std::snprintf(tps, sizeof tps, "%.0f TPS", e.tps.value_or(0));
        line += std::string(e.verdict == "invalid" ? "SLO broken" : "valid") + ", " + tps + ", " +
                bcp::latency_text(e.latency) +
                ", generators limited: " + std::string(bcp::generator_limit_name(e.generator_limited));
    } else {
        line += "invalid";
        std::string why;
        for (const auto& r : e.reasons) why += (why.empty() ? "" : "; ") + r.code + ": " + r.message;
        if (!why.empty()) line += " (" + text::printable(why) + ")";
    }
    return line;
}

}  // namespace

std::string now_iso8601() { return control::iso8601_millis(now_unix_ms()); }

CampaignSession::CampaignSession(const Coordinator& coordinator, const CampaignOptions& options, bcp::Campaign fresh,
                                 const bcp::ResumeRequest& asked, std::ostream& out)
    : coordinator_(coordinator), options_(options), out_(out) {
    try {
        if (!options.resume.empty()) {
            campaign_ = bcp::read_campaign_file(options.resume);
            bcp::check_resumable(campaign_, asked);
            path_ = options.resume;
            resumed_ = true;
            campaign_.status = bcp::Status::Running;
            campaign_.message.clear();
            campaign_.coordinator = coordinator.url;
            return;
        }
    } catch (const bcp::CampaignError& e) {
        throw UsageError(std::string("--resume: ") + e.what());
    }
    campaign_ = std::move(fresh);
    if (options.id.empty()) {
        std::random_device random;
        campaign_.id = bcp::make_campaign_id(now_unix_ms(), random());
    } else {
        campaign_.id = options.id;
    }
    if (auto problem = bcp::campaign_id_problem(campaign_.id); !problem.empty())
        throw UsageError("--campaign-id: " + problem);
    campaign_.created_at = now_iso8601();
    campaign_.status = bcp::Status::Running;
    campaign_.coordinator = coordinator.url;
    campaign_.retries = options.retries;
    std::error_code ec;
    std::filesystem::create_directories(options.dir, ec);
    path_ = (std::filesystem::path(options.dir) / bcp::campaign_file_name(campaign_.id)).string();
    if (std::filesystem::exists(path_))
        throw UsageError("the campaign file " + path_ + " already exists: continue it with --resume " + path_ +
                         ", or choose another --campaign-id");
}

void CampaignSession::save() {
    campaign_.updated_at = now_iso8601();
    const auto json = bcp::to_json(campaign_);
    bcp::write_campaign_file(path_, json);
    post_to_coordinator(json);
}

void CampaignSession::post_to_coordinator(const control::Json& campaign) {
    if (!post_campaigns_) return;
    // A copy for the dashboard is not worth holding up the campaign: a
    // busy coordinator (503) gets a short retry, not the 30 s an epoch's
    // own requests get.
    Coordinator quick = coordinator_;
    quick.retry_for = std::chrono::seconds(2);
    std::string warning;
    try {
        const auto answer =
            quick.request("POST", "/admin/campaigns", control::compact(campaign), std::chrono::seconds(10));
        if (answer.status == 404) {
            post_campaigns_ = false;
            std::cerr << "bench-dist-control: note: the coordinator at " << coordinator_.url
                      << " does not keep campaigns (no POST /admin/campaigns: an older version); its dashboard "
                         "will not show this one\n";
            return;
        }
        if (answer.status != 200) {
            const auto& body = answer.body;
            warning = "HTTP " + std::to_string(answer.status) + " " +
                      (body.is_object() && body.contains("error") ? body["error"].dump() : body.dump());
            if (answer.status == 413)
                warning += " (the campaign file is larger than the coordinator's --max-body-bytes; raise it there)";
        }
    } catch (const Failure& e) {
        warning = e.what();
    }
    if (warning.empty()) {
        last_post_warning_.clear();
        return;
    }
    // One line per new problem, not one per epoch.
    if (warning != last_post_warning_) {
        std::cerr << "bench-dist-control: warning: the coordinator did not store campaign " << campaign_.id
                  << " for its dashboard (the campaign goes on; its file is " << path_
                  << "): " << text::printable(warning) << "\n";
    }
    last_post_warning_ = warning;
}

std::string CampaignSession::label_for(const bcp::PointRecord& point, std::size_t repeat) const {
    // --runs: each run is its own point; its number is the repeat.
    if (campaign_.kind == bcp::Kind::Runs) return bcp::epoch_label(campaign_.id, "", point.index + 1);
    return bcp::epoch_label(campaign_.id, point.description, repeat);
}

CampaignSession::PointEnd CampaignSession::run_point(bcp::PointRecord& point) {
    for (;;) {
        const auto progress = bcp::point_progress(point, campaign_.repeat, campaign_.retries);
        point.status = progress.status;
        if (progress.finished()) return {};
        if (interrupt_count() > 0) return {PointEnd::Kind::Interrupted, "stopped by Ctrl-C between epochs"};
        auto request = point.request;
        request["label"] = label_for(point, progress.measured_repeats + 1);
        auto epoch_options = options_.epoch;  // --poll-ms, --timeout, the live view
        epoch_options.campaign = true;
        epoch_options.print_start = false;
        const auto run = run_epoch(coordinator_, request, epoch_options, out_);
        switch (run.end) {
            case EpochRun::End::Finished:
                break;
            case EpochRun::End::Refused:
                return {PointEnd::Kind::Refused,
                        "the coordinator refused to start the epoch of " +
                            (point.description.empty() ? "run " + std::to_string(point.index + 1) : point.description) +
                            ": " + run.message};
            case EpochRun::End::Interrupted:
                return {PointEnd::Kind::Interrupted, run.message};
            case EpochRun::End::TimedOut:
                return {PointEnd::Kind::TimedOut, run.message};
        }
        auto record = bcp::read_epoch(run.result_json);
        point.epochs.push_back(record);
        const auto after = bcp::point_progress(point, campaign_.repeat, campaign_.retries);
        point.status = after.status;
        std::string tail;
        if (!record.measured) {
            tail = after.finished() ? "; point invalid after " + std::to_string(campaign_.retries) + " retries"
                                    : "; retry " + std::to_string(after.failed_attempts) + " of " +
                                          std::to_string(campaign_.retries);
        }
        // Saved before the line is printed: whoever sees the line (a person,
        // a script about to kill us) can count on the file having the epoch.
        save();
        out_ << epoch_line(record) << tail << "\n" << std::flush;
    }
}

CampaignSession::PointEnd run_point_or_fail(CampaignSession& session, bcp::PointRecord& point) {
    try {
        return session.run_point(point);
    } catch (const Failure& e) {
        return {CampaignSession::PointEnd::Kind::Failed, e.what()};
    }
}

std::optional<int> run_every_point(CampaignSession& session) {
    install_interrupt_handler();
    for (auto& point : session.campaign().points) {
        const auto end = run_point_or_fail(session, point);
        using K = CampaignSession::PointEnd::Kind;
        if (end.kind == K::Interrupted) return session.end_interrupted(end.message);
        if (end.kind != K::Finished) return session.end_failed(end.message);
    }
    return std::nullopt;
}

int CampaignSession::end_interrupted(const std::string& message) {
    campaign_.status = bcp::Status::Interrupted;
    campaign_.message = message;
    save();
    std::cerr << "bench-dist-control: campaign " << campaign_.id << " interrupted (" << message
              << "); continue it with --resume " << path_ << "\n";
    return 130;
}

int CampaignSession::end_failed(const std::string& message) {
    campaign_.status = bcp::Status::Failed;
    campaign_.message = message;
    try {
        save();
    } catch (const std::exception& e) {
        std::cerr << "bench-dist-control: " << e.what() << "\n";
    }
    std::cerr << "bench-dist-control: campaign " << campaign_.id << " failed: " << text::printable(message)
              << "\n  its file: " << path_ << " (--resume continues it once the cause is fixed)\n";
    return 1;
}

void CampaignSession::end_complete() {
    campaign_.status = bcp::Status::Complete;
    campaign_.message.clear();
    save();
}

}  // namespace benchdist::control_tool
