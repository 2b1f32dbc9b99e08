#include "benchdist/report/load.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace benchdist::report {

namespace fs = std::filesystem;

namespace {

// Campaign and result files are a few hundred KB at most; anything far
// larger is not one (and would only be read to fail).
constexpr std::uintmax_t kMaxFileBytes = 256u << 20;

Json read_json(const std::string& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) throw ReportError(path + ": cannot be read: " + ec.message());
    if (size > kMaxFileBytes)
        throw ReportError(path + ": " + std::to_string(size) + " bytes is too large for a result or campaign file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ReportError(path + ": cannot be opened: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    try {
        return Json::parse(text.str());
    } catch (const Json::parse_error& e) {
        throw ReportError(path + ": not JSON: " + e.what());
    }
}

bool looks_like_campaign(const Json& j) { return j.is_object() && j.contains("campaign") && j.contains("kind"); }
bool looks_like_result(const Json& j) { return j.is_object() && j.contains("epoch"); }

LoadedFile from_json(const Json& j, const std::string& path) {
    LoadedFile f;
    if (looks_like_campaign(j))
        f.campaign = campaign_report_from_json(j, path);
    else if (looks_like_result(j))
        f.result = epoch_report_from_json(j, path);
    else
        throw ReportError(path +
                          ": neither an epoch result (no \"epoch\") nor a campaign file (no \"campaign\" and "
                          "\"kind\"): give the coordinator's results directory, result files or a campaign file");
    return f;
}

std::string key_of(const fs::path& p) {
    std::error_code ec;
    const auto canonical = fs::weakly_canonical(p, ec);
    return ec ? p.string() : canonical.string();
}

class Loader {
public:
    void input(const std::string& path) {
        std::error_code ec;
        const auto status = fs::status(path, ec);
        if (ec || !fs::exists(status))
            throw ReportError(path +
                              ": no such file or directory (give a results directory, result files or a "
                              "campaign file)");
        if (fs::is_directory(status))
            directory(path);
        else
            file(path, /*explicit_input=*/true);
    }

    Report finish() {
        link_campaigns(report_);
        return std::move(report_);
    }

private:
    void directory(const std::string& dir) {
        std::vector<fs::path> files;
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
            if (it->path().extension() == ".json" && it->is_regular_file()) files.push_back(it->path());
        if (ec) throw ReportError(dir + ": cannot be listed: " + ec.message());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) file(f.string(), /*explicit_input=*/false);
    }

    void file(const std::string& path, bool explicit_input) {
        if (!seen_.insert(key_of(path)).second) return;
        const auto j = read_json(path);
        if (!explicit_input && !looks_like_campaign(j) && !looks_like_result(j)) {
            report_.notes.push_back(path + ": skipped, neither an epoch result nor a campaign file");
            return;
        }
        auto loaded = from_json(j, path);
        if (loaded.result) report_.epochs.push_back(std::move(*loaded.result));
        if (loaded.campaign) {
            if (explicit_input) beside(*loaded.campaign, fs::path(path).parent_path());
            report_.campaigns.push_back(std::move(*loaded.campaign));
        }
    }

    // The campaign's result files in its own directory (where
    // --campaign-dir and the coordinator's --results-dir both default to).
    void beside(const CampaignReport& c, const fs::path& dir) {
        std::set<std::string> wanted;
        for (const auto& p : c.campaign.points)
            for (const auto& e : p.epochs) {
                char number[32];
                std::snprintf(number, sizeof number, "-epoch-%03llu-", static_cast<unsigned long long>(e.epoch));
                wanted.insert(number);
            }
        std::error_code ec;
        const auto where = dir.empty() ? fs::path(".") : dir;
        std::vector<fs::path> files;
        for (fs::directory_iterator it(where, ec), end; !ec && it != end; it.increment(ec)) {
            const auto name = it->path().filename().string();
            if (it->path().extension() != ".json") continue;
            for (const auto& w : wanted)
                if (name.find(w) != std::string::npos) {
                    files.push_back(it->path());
                    break;
                }
        }
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            if (seen_.count(key_of(f))) continue;
            const auto j = read_json(f.string());
            if (!looks_like_result(j)) continue;
            auto e = epoch_report_from_json(j, f.string());
            // Only this campaign's epochs: a coordinator restarted in the
            // same directory numbers its epochs from 1 again.
            bool ours = false;
            for (const auto& p : c.campaign.points)
                for (const auto& rec : p.epochs)
                    ours = ours || (rec.epoch == e.epoch && rec.result_finished_at == e.finished_at);
            if (!ours) continue;
            seen_.insert(key_of(f));
            report_.epochs.push_back(std::move(e));
        }
    }

    Report report_;
    std::set<std::string> seen_;
};

}  // namespace

LoadedFile load_file(const std::string& path) { return from_json(read_json(path), path); }

Report load_report(const std::vector<std::string>& inputs) {
    Loader loader;
    for (const auto& in : inputs) loader.input(in);
    auto report = loader.finish();
    if (report.epochs.empty() && report.campaigns.empty()) {
        std::string list;
        for (const auto& in : inputs) list += (list.empty() ? "" : ", ") + in;
        throw ReportError("no epoch results or campaign files in " + list +
                          ": run an epoch first, or give the coordinator's --results-dir");
    }
    return report;
}

}  // namespace benchdist::report
