// What sweep, saturate and start-epoch --runs share: opening a campaign
// (new, or --resume from its file), running a point's epochs with retries,
// writing the campaign file after every epoch, and the end of a campaign
// (complete, interrupted by Ctrl-C, failed). The decisions -- which points,
// what a point's status is, where the knee is -- are the campaign
// component's; this is the wiring to the coordinator and the terminal.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "benchdist/campaign/campaign_file.hpp"
#include "coordinator_client.hpp"
#include "run_epoch.hpp"

namespace benchdist::control_tool {

// Options every campaign command has.
struct CampaignOptions {
    std::string dir = "runs/distributed";  // --campaign-dir
    std::string id;                        // --campaign-id ("" = made up)
    std::string resume;                    // --resume FILE
    std::size_t retries = 2;               // --retries
    EpochRunOptions epoch;                 // --poll-ms, --timeout
    bool json = false;
};

// A usage problem found after parsing (a --vary, a --resume file): exit 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class CampaignSession {
public:
    // A new campaign (id, file path and timestamps filled in here), or the
    // one in options.resume checked against `asked` (unset parts taken from
    // the file). Throws UsageError.
    CampaignSession(const Coordinator& coordinator, const CampaignOptions& options, campaign::Campaign fresh,
                    const campaign::ResumeRequest& asked, std::ostream& out);

    campaign::Campaign& campaign() { return campaign_; }
    bool resumed() const { return resumed_; }
    const std::string& path() const { return path_; }
    std::ostream& out() { return out_; }

    // Writes the campaign file now (updatedAt = now) and posts it to the
    // coordinator (POST /admin/campaigns), which keeps a copy for its
    // dashboard. Posting is best effort: a failure is a warning on stderr
    // and never stops the campaign, and a coordinator without the route
    // (404: an older one, or the original harness's) is not asked again.
    void save();

    struct PointEnd {
        enum class Kind { Finished, Interrupted, Refused, TimedOut, Failed } kind = Kind::Finished;
        std::string message;
    };
    // Runs `point`'s epochs until it is finished (every repeat measured, or
    // invalid after its retries), saving after each epoch. Stops early, with
    // the point still pending, on Ctrl-C (after the current epoch), a
    // refusal or a timeout. Throws Failure when the coordinator cannot be
    // reached.
    PointEnd run_point(campaign::PointRecord& point);

    // Ends the campaign: status and message saved; returns the exit code for
    // an interrupted (130) or failed (1) end.
    int end_interrupted(const std::string& message);
    int end_failed(const std::string& message);
    void end_complete();

private:
    std::string label_for(const campaign::PointRecord& point, std::size_t repeat) const;
    void post_to_coordinator(const control::Json& campaign);

    Coordinator coordinator_;
    CampaignOptions options_;
    campaign::Campaign campaign_;
    std::string path_;
    bool resumed_ = false;
    bool post_campaigns_ = true;     // false once the coordinator answered 404
    std::string last_post_warning_;  // printed once while it repeats
    std::ostream& out_;
};

// session.run_point, with a coordinator that cannot be reached (Failure)
// turned into a Failed end: the campaign file then says failed and why,
// rather than running.
CampaignSession::PointEnd run_point_or_fail(CampaignSession& session, campaign::PointRecord& point);

// Every point of the campaign in order (a fixed list: sweep, --runs), after
// the Ctrl-C handler is installed: nullopt when all finished, else the exit
// code of the interrupted (130) or failed (1) end, already saved.
std::optional<int> run_every_point(CampaignSession& session);

// The wall clock as ISO-8601 UTC with milliseconds.
std::string now_iso8601();

}  // namespace benchdist::control_tool
