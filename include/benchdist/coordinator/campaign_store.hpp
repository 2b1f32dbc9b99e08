// The campaigns the coordinator knows of, for its dashboard: bench-dist-
// control posts its campaign file (campaign-<id>.json, campaign_file.hpp)
// after every epoch of a sweep, saturate or --runs, and the coordinator
// keeps the latest copy in its results directory, beside the results those
// epochs wrote -- so a dashboard on the coordinator can draw a campaign's
// curve without access to the machine the control ran on. A posted body is
// checked with the campaign component's parser and stored in its
// normalised form (what that parser understands), atomically; the id,
// part of the file name, must follow the campaign id rule.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "benchdist/control/protocol.hpp"

namespace benchdist::coordinator {

class CampaignStore {
public:
    explicit CampaignStore(std::filesystem::path directory);

    // Checks and stores a posted campaign; returns its listing entry.
    // Throws control::ProtocolError naming the problem when `body` is not
    // a campaign file (not JSON, not a campaign, a bad id); throws
    // std::runtime_error naming the file when it cannot be written.
    control::Json put(std::string_view body);

    // {"campaigns": [{"id", "kind", "status", "message", "points",
    // "validPoints", "epochs", "createdAt", "updatedAt"}]}, the most
    // recently updated first, at most kMaxListed. Files that do not parse
    // as campaigns (a copy the control is rewriting, a stranger's file)
    // are left out.
    control::Json list() const;

    // The stored file of campaign `id`, or nullopt when there is none.
    // Throws control::ProtocolError for an id that breaks the rule (so no
    // path outside the directory is ever opened).
    std::optional<control::Json> get(std::string_view id) const;

    const std::filesystem::path& directory() const { return directory_; }

    static constexpr std::size_t kMaxListed = 200;

private:
    struct Cached {
        std::filesystem::file_time_type modified;
        std::uintmax_t size = 0;
        std::optional<control::Json> entry;  // nullopt: the file is not a campaign
    };
    std::filesystem::path directory_;
    // list() reads each file once per change, not once per request.
    mutable std::mutex cache_mu_;
    mutable std::map<std::string, Cached> cache_;
};

// The listing entry of a campaign file's object.
control::Json campaign_list_entry(const control::Json& campaign);

}  // namespace benchdist::coordinator
