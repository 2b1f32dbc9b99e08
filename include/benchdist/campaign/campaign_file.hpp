// The campaign file: one JSON object (campaign-<id>.json) holding a whole
// campaign -- what it varies, every point with every epoch it ran, the
// statistics over each point's valid repeats and, for a saturation search,
// the knee and why it stopped. bench-dist-control rewrites it after every
// epoch (temp file in the same directory, fsync, rename), so a killed
// campaign leaves a complete file that `--resume` continues. The keys are
// documented in docs/campaigns.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/campaign/epoch_record.hpp"
#include "benchdist/campaign/grid.hpp"
#include "benchdist/campaign/repeat_stats.hpp"

namespace benchdist::campaign {

enum class Kind { Sweep, Saturate, Runs };
std::string_view kind_name(Kind k);  // "sweep", "saturate", "runs"

enum class Status { Running, Complete, Interrupted, Failed };
std::string_view status_name(Status s);  // "running", "complete", "interrupted", "failed"

enum class PointStatus { Pending, Valid, Invalid };
std::string_view point_status_name(PointStatus s);  // "pending", "valid", "invalid"

struct PointRecord {
    std::size_t index = 0;
    Json values = Json::object();   // the varied knobs of this point
    std::string description;        // "connections=64 alpha=1.5"
    Json request = Json::object();  // the start request its epochs were given (base + values)
    PointStatus status = PointStatus::Pending;
    std::vector<EpochRecord> epochs;  // every attempt, in order
};

struct Campaign {
    std::string id;
    Kind kind = Kind::Sweep;
    std::string created_at;  // ISO-8601 UTC, injected by the caller
    std::string updated_at;
    Status status = Status::Running;
    std::string message;         // why it failed or was interrupted; "" otherwise
    std::string coordinator;     // its URL
    Json base = Json::object();  // the start request every point shares
    std::vector<Vary> vary;      // sweep only
    std::size_t repeat = 1;
    std::size_t retries = 2;
    std::vector<PointRecord> points;
    // Saturate only: the search's options ({"knob", "start", "max",
    // "precision", "slos"}) and its result ("knee", "curve", "stopReason",
    // "limit", "stopMessage"), written by the tool from SaturationSearch.
    Json saturate = Json::object();
    Json result = Json::object();
};

// Where a point stands, from its epochs: how many repeats measured, how
// many invalid attempts in a row at the current repeat, and whether it is
// finished -- all its repeats measured (valid), or one repeat still invalid
// after `retries` retries (invalid). A point is never run again once
// finished; --resume continues an unfinished one where it stopped.
struct PointProgress {
    std::size_t measured_repeats = 0;
    std::size_t failed_attempts = 0;  // invalid epochs since the last measured one
    std::size_t attempts = 0;         // every epoch
    PointStatus status = PointStatus::Pending;
    bool finished() const { return status != PointStatus::Pending; }
};
PointProgress point_progress(const PointRecord& point, std::size_t repeat, std::size_t retries);

// The point's JSON: its own keys, its "attempts", and over its measured
// epochs "tps" (Summary), "latency" (the median of each percentile),
// "sloOk" (every measured repeat met every SLO), "invalidEpochs"; an
// invalid point has "reasons" (its last epoch's) and no "tps".
Json point_json(const PointRecord& point, std::size_t repeat, std::size_t retries);

// The whole file. updated_at as given.
Json to_json(const Campaign& c);
// Reads a campaign file's object back; throws CampaignError naming what is
// wrong (not an object, not a campaign, unknown kind, a malformed point).
Campaign campaign_from_json(const Json& j);

// What is wrong with `id` as a campaign id ("" when nothing): 1 to 64
// bytes of A-Z a-z 0-9 . _ - (it is part of a file name and of labels).
std::string campaign_id_problem(std::string_view id);
// A fresh id from the time and some randomness the caller supplies:
// "20261207T044306Z-3fa9c1".
std::string make_campaign_id(std::int64_t unix_millis, std::uint32_t random);
// "campaign-<id>.json".
std::string campaign_file_name(std::string_view id);

// An epoch's label: "<id> <point description> r<repeat>", cut to the label
// rule's 256 bytes (control::kMaxLabelBytes) by shortening the description.
std::string epoch_label(std::string_view id, std::string_view description, std::size_t repeat);

// Writes the file atomically: a temporary file in the same directory,
// fsync, rename over `path`, fsync of the directory. Throws CampaignError
// naming the path and the system's error; the temporary file is removed.
void write_campaign_file(const std::string& path, const Json& campaign);
// Reads and parses it; throws CampaignError (missing file, not JSON, not a
// campaign).
Campaign read_campaign_file(const std::string& path);

// What the command line of a --resume gave; each unset one is taken from
// the file, each set one must equal the file's.
struct ResumeRequest {
    Kind kind = Kind::Sweep;
    std::optional<Json> base;
    std::optional<std::vector<Vary>> vary;
    std::optional<std::size_t> repeat;
    std::optional<Json> saturate;  // the search's options
};
// Refuses to resume `existing` as asked: another kind, a different base,
// vary, repeat or search, or a campaign already complete. Throws
// CampaignError saying what differs and what to do.
void check_resumable(const Campaign& existing, const ResumeRequest& asked);

}  // namespace benchdist::campaign
