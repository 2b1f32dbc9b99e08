#include "benchdist/coordinator/campaign_store.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "benchdist/campaign/campaign_file.hpp"

namespace benchdist::coordinator {

namespace fs = std::filesystem;
namespace bcp = benchdist::campaign;

namespace {

// A parser's complaint can quote the offending part of the body; a 400
// needs the problem, not a megabyte of it.
std::string shortened(std::string message) {
    constexpr std::size_t kMax = 400;
    if (message.size() > kMax) {
        message.resize(kMax);
        message += "...";
    }
    return message;
}

// The file names the store writes and reads: campaign-<id>.json, never a
// temporary file of write_campaign_file (campaign-<id>.json.tmp-XXXXXX).
std::optional<std::string> id_of_file_name(const std::string& name) {
    constexpr std::string_view head = "campaign-";
    constexpr std::string_view tail = ".json";
    if (name.size() <= head.size() + tail.size() || name.compare(0, head.size(), head) != 0 ||
        name.compare(name.size() - tail.size(), tail.size(), tail) != 0)
        return std::nullopt;
    auto id = name.substr(head.size(), name.size() - head.size() - tail.size());
    if (!bcp::campaign_id_problem(id).empty()) return std::nullopt;
    return id;
}

std::optional<control::Json> read_json_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    auto j = control::Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return std::nullopt;
    return j;
}

std::size_t count_if_status(const control::Json& points, std::string_view status) {
    if (!points.is_array()) return 0;
    return static_cast<std::size_t>(std::count_if(points.begin(), points.end(), [&](const control::Json& p) {
        return p.is_object() && p.contains("status") && p["status"] == status;
    }));
}

}  // namespace

control::Json campaign_list_entry(const control::Json& c) {
    const auto text = [&](const char* key) {
        return c.contains(key) && c[key].is_string() ? c[key] : control::Json(nullptr);
    };
    control::Json e;
    e["id"] = text("campaign");
    e["kind"] = text("kind");
    e["status"] = text("status");
    e["message"] = text("message");
    const auto points = c.contains("points") ? c["points"] : control::Json::array();
    e["points"] = points.is_array() ? points.size() : 0;
    e["validPoints"] = count_if_status(points, "valid");
    e["invalidPoints"] = count_if_status(points, "invalid");
    std::size_t epochs = 0;
    if (points.is_array())
        for (const auto& p : points)
            if (p.is_object() && p.contains("epochs") && p["epochs"].is_array()) epochs += p["epochs"].size();
    e["epochs"] = epochs;
    e["createdAt"] = text("createdAt");
    e["updatedAt"] = text("updatedAt");
    return e;
}

CampaignStore::CampaignStore(fs::path directory) : directory_(std::move(directory)) {}

control::Json CampaignStore::put(std::string_view body) {
    const auto posted = control::parse_body(body);
    bcp::Campaign campaign;
    try {
        campaign = bcp::campaign_from_json(posted);
    } catch (const std::exception& e) {
        // CampaignError, a ProtocolError from a reason, a JSON type error:
        // all say the body is not a campaign file this coordinator reads.
        throw control::ProtocolError(shortened(std::string("the body is not a campaign file: ") + e.what()));
    }
    // campaign_from_json checked the id; the file name depends on it, so
    // it is checked again right where the name is made.
    if (auto problem = bcp::campaign_id_problem(campaign.id); !problem.empty()) throw control::ProtocolError(problem);
    const auto normalised = bcp::to_json(campaign);
    std::error_code ec;
    fs::create_directories(directory_, ec);
    if (ec)
        throw std::runtime_error("cannot store the campaign: cannot create the results directory " +
                                 directory_.string() + ": " + ec.message());
    try {
        bcp::write_campaign_file((directory_ / bcp::campaign_file_name(campaign.id)).string(), normalised);
    } catch (const bcp::CampaignError& e) {
        throw std::runtime_error(std::string("cannot store the campaign: ") + e.what());
    }
    return campaign_list_entry(normalised);
}

control::Json CampaignStore::list() const {
    std::vector<control::Json> entries;
    std::lock_guard lock(cache_mu_);
    std::map<std::string, Cached> seen;
    std::error_code ec;
    for (fs::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (!id_of_file_name(name)) continue;
        std::error_code stat_ec;
        const auto modified = it->last_write_time(stat_ec);
        const auto size = it->file_size(stat_ec);
        if (stat_ec) continue;
        auto cached = cache_.find(name);
        if (cached == cache_.end() || cached->second.modified != modified || cached->second.size != size) {
            Cached fresh{modified, size, std::nullopt};
            if (auto j = read_json_file(it->path())) {
                try {
                    // The same check as a post: a file in the directory
                    // that is not a campaign is not listed.
                    bcp::campaign_from_json(*j);
                    fresh.entry = campaign_list_entry(*j);
                } catch (const std::exception&) {
                }
            }
            cached = cache_.insert_or_assign(name, std::move(fresh)).first;
        }
        if (cached->second.entry) entries.push_back(*cached->second.entry);
        seen.insert(*cached);
    }
    cache_ = std::move(seen);  // forget files that are gone
    std::sort(entries.begin(), entries.end(), [](const control::Json& a, const control::Json& b) {
        const auto key = [](const control::Json& e) {
            return e["updatedAt"].is_string() ? e["updatedAt"].get<std::string>() : std::string();
        };
        return key(a) > key(b);
    });
    if (entries.size() > kMaxListed) entries.resize(kMaxListed);
    control::Json list = control::Json::array();
    for (auto& e : entries) list.push_back(std::move(e));
    return control::Json{{"campaigns", list}};
}

std::optional<control::Json> CampaignStore::get(std::string_view id) const {
    if (auto problem = bcp::campaign_id_problem(id); !problem.empty()) throw control::ProtocolError(problem);
    return read_json_file(directory_ / bcp::campaign_file_name(id));
}

}  // namespace benchdist::coordinator
