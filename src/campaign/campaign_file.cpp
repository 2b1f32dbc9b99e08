#include "benchdist/campaign/campaign_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "benchdist/control/identifiers.hpp"

namespace benchdist::campaign {

std::string_view kind_name(Kind k) {
    switch (k) {
        case Kind::Sweep:
            return "sweep";
        case Kind::Saturate:
            return "saturate";
        case Kind::Runs:
            break;
    }
    return "runs";
}

std::string_view status_name(Status s) {
    switch (s) {
        case Status::Running:
            return "running";
        case Status::Complete:
            return "complete";
        case Status::Interrupted:
            return "interrupted";
        case Status::Failed:
            break;
    }
    return "failed";
}

std::string_view point_status_name(PointStatus s) {
    switch (s) {
        case PointStatus::Pending:
            return "pending";
        case PointStatus::Valid:
            return "valid";
        case PointStatus::Invalid:
            break;
    }
    return "invalid";
}

namespace {

template <typename E, typename F>
E from_name(const Json& j, const char* key, F name_of, std::initializer_list<E> all) {
    if (!j.contains(key) || !j[key].is_string())
        throw CampaignError(std::string("a campaign's \"") + key + "\" must be a string");
    const auto text = j[key].get<std::string>();
    for (E e : all)
        if (name_of(e) == text) return e;
    std::string names;
    for (E e : all) names += (names.empty() ? "" : ", ") + std::string(name_of(e));
    throw CampaignError(std::string("a campaign's \"") + key + "\" is \"" + text + "\"; expected one of " + names);
}

std::string text_at(const Json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::size_t count_at(const Json& j, const char* key, std::size_t fallback) {
    if (!j.contains(key)) return fallback;
    if (!j[key].is_number_unsigned())
        throw CampaignError(std::string("a campaign's \"") + key + "\" must be a whole number, got " + j[key].dump());
    return j[key].get<std::size_t>();
}

std::string system_error(int err) { return std::strerror(err); }

}  // namespace

PointProgress point_progress(const PointRecord& point, std::size_t repeat, std::size_t retries) {
    PointProgress p;
    for (const auto& e : point.epochs) {
        ++p.attempts;
        if (p.finished()) continue;  // epochs past the end (should not happen) change nothing
        if (e.measured) {
            ++p.measured_repeats;
            p.failed_attempts = 0;
            if (p.measured_repeats >= repeat) p.status = PointStatus::Valid;
        } else {
            ++p.failed_attempts;
            if (p.failed_attempts > retries) p.status = PointStatus::Invalid;
        }
    }
    return p;
}

Json point_json(const PointRecord& point, std::size_t repeat, std::size_t retries) {
    const auto progress = point_progress(point, repeat, retries);
    Json j{{"index", point.index},
           {"values", point.values},
           {"description", point.description},
           {"request", point.request},
           {"status", std::string(point_status_name(progress.status))},
           {"attempts", progress.attempts}};
    Json epochs = Json::array();
    std::vector<double> tps;
    std::map<std::string, std::vector<double>> latency;
    bool slo_ok = true;
    std::size_t invalid = 0;
    for (const auto& e : point.epochs) {
        epochs.push_back(to_json(e));
        if (!e.measured) {
            ++invalid;
            continue;
        }
        tps.push_back(*e.tps);
        slo_ok = slo_ok && e.slo_ok;
        for (const auto& [key, value] : e.latency.items())
            if (value.is_number()) latency[key].push_back(value.get<double>());
    }
    j["epochs"] = epochs;
    j["invalidEpochs"] = invalid;
    if (progress.status == PointStatus::Invalid) {
        Json reasons = Json::array();
        for (const auto& r : point.epochs.back().reasons) reasons.push_back(control::to_json(r));
        j["reasons"] = reasons;
        return j;  // no figure for a point that could not be measured
    }
    if (const auto s = summarize(tps)) {
        j["tps"] = to_json(*s);
        Json medians = Json::object();
        for (const char* key : {"p50Us", "p90Us", "p99Us", "p999Us", "maxUs", "meanUs"})
            if (latency.count(key)) medians[key] = *median(latency[key]);
        j["latency"] = medians;
        j["sloOk"] = slo_ok;
    }
    return j;
}

Json to_json(const Campaign& c) {
    Json j{{"campaign", c.id},
           {"kind", std::string(kind_name(c.kind))},
           {"createdAt", c.created_at},
           {"updatedAt", c.updated_at},
           {"status", std::string(status_name(c.status))}};
    if (!c.message.empty()) j["message"] = c.message;
    j["coordinator"] = c.coordinator;
    j["base"] = c.base;
    Json vary = Json::array();
    for (const auto& v : c.vary) vary.push_back(to_json(v));
    j["vary"] = vary;
    j["repeat"] = c.repeat;
    j["retries"] = c.retries;
    if (c.kind == Kind::Saturate) j["saturate"] = c.saturate;
    Json points = Json::array();
    for (const auto& p : c.points) points.push_back(point_json(p, c.repeat, c.retries));
    j["points"] = points;
    for (const auto& [key, value] : c.result.items()) j[key] = value;
    return j;
}

Campaign campaign_from_json(const Json& j) {
    if (!j.is_object() || !j.contains("campaign") || !j["campaign"].is_string() || !j.contains("kind") ||
        !j.contains("points"))
        throw CampaignError(
            "not a campaign file: expected a JSON object with \"campaign\", \"kind\" and \"points\" (written by "
            "bench-dist-control sweep, saturate or start-epoch --runs)");
    Campaign c;
    c.id = j["campaign"].get<std::string>();
    if (auto problem = campaign_id_problem(c.id); !problem.empty()) throw CampaignError(problem);
    c.kind = from_name(j, "kind", kind_name, {Kind::Sweep, Kind::Saturate, Kind::Runs});
    c.status =
        from_name(j, "status", status_name, {Status::Running, Status::Complete, Status::Interrupted, Status::Failed});
    c.created_at = text_at(j, "createdAt");
    c.updated_at = text_at(j, "updatedAt");
    c.message = text_at(j, "message");
    c.coordinator = text_at(j, "coordinator");
    if (j.contains("base")) {
        if (!j["base"].is_object()) throw CampaignError("a campaign's \"base\" must be an object");
        c.base = j["base"];
    }
    if (j.contains("vary")) {
        if (!j["vary"].is_array()) throw CampaignError("a campaign's \"vary\" must be an array");
        for (const auto& v : j["vary"]) c.vary.push_back(vary_from_json(v));
    }
    c.repeat = count_at(j, "repeat", 1);
    c.retries = count_at(j, "retries", 2);
    if (c.repeat == 0) throw CampaignError("a campaign's \"repeat\" must be at least 1");
    if (j.contains("saturate") && j["saturate"].is_object()) c.saturate = j["saturate"];
    if (!j["points"].is_array()) throw CampaignError("a campaign's \"points\" must be an array");
    for (const auto& pj : j["points"]) {
        if (!pj.is_object()) throw CampaignError("a campaign point must be an object, got " + pj.dump());
        PointRecord p;
        p.index = count_at(pj, "index", c.points.size());
        if (pj.contains("values") && pj["values"].is_object()) p.values = pj["values"];
        p.description = text_at(pj, "description");
        if (pj.contains("request") && pj["request"].is_object()) p.request = pj["request"];
        if (pj.contains("epochs")) {
            if (!pj["epochs"].is_array()) throw CampaignError("a campaign point's \"epochs\" must be an array");
            for (const auto& e : pj["epochs"]) p.epochs.push_back(epoch_record_from_json(e));
        }
        p.status = point_progress(p, c.repeat, c.retries).status;
        c.points.push_back(std::move(p));
    }
    for (const char* key : {"tps", "invalidRuns", "knee", "curve", "stopReason", "limit", "stopMessage"})
        if (j.contains(key)) c.result[key] = j[key];
    return c;
}

std::string campaign_id_problem(std::string_view id) {
    if (id.empty() || id.size() > 64)
        return "a campaign id must be 1 to 64 bytes of A-Z a-z 0-9 . _ -, got " + std::to_string(id.size()) + " bytes";
    for (char ch : id) {
        const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                        ch == '_' || ch == '-';
        if (!ok) return "a campaign id must be 1 to 64 bytes of A-Z a-z 0-9 . _ - (it names a file)";
    }
    if (id == "." || id == "..") return "a campaign id cannot be \".\" or \"..\"";
    return {};
}

std::string make_campaign_id(std::int64_t unix_millis, std::uint32_t random) {
    // YYYYMMDDThhmmssZ from the ISO text the control plane already writes.
    const auto iso = control::iso8601_millis(unix_millis);  // 2026-12-07T04:43:06.123Z
    std::string compact;
    for (char ch : iso.substr(0, 19))
        if (ch != '-' && ch != ':') compact.push_back(ch);
    char tail[16];
    std::snprintf(tail, sizeof tail, "Z-%06x", random & 0xFFFFFFu);
    return compact + tail;
}

std::string campaign_file_name(std::string_view id) { return "campaign-" + std::string(id) + ".json"; }

std::string epoch_label(std::string_view id, std::string_view description, std::size_t repeat) {
    // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on
    // " r" + std::string&&.
    std::string tail = " r";
    tail += std::to_string(repeat);
    std::string head(id);
    if (!description.empty()) {
        head += ' ';
        head += description;
    }
    if (head.size() + tail.size() > control::kMaxLabelBytes) {
        head.resize(control::kMaxLabelBytes - tail.size() - 3);
        head += "...";
    }
    return head + tail;
}

void write_campaign_file(const std::string& path, const Json& campaign) {
    const std::string text = campaign.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
    const auto slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    std::string temp = path + ".tmp-XXXXXX";
    const int fd = ::mkstemp(temp.data());
    if (fd < 0)
        throw CampaignError("cannot write the campaign file " + path + ": creating a temporary file in " + dir +
                            " failed: " + system_error(errno) + " (does --campaign-dir exist and is it writable?)");
    const auto fail = [&](const std::string& step) {
        const int err = errno;
        ::close(fd);
        ::unlink(temp.c_str());
        throw CampaignError("cannot write the campaign file " + path + ": " + step + " failed: " + system_error(err) +
                            "; the previous version, if any, is unchanged");
    };
    std::size_t done = 0;
    while (done < text.size()) {
        const auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write");
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, 0644) != 0) fail("chmod");
    if (::fsync(fd) != 0) fail("fsync");
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        throw CampaignError("cannot write the campaign file " + path + ": close failed: " + system_error(err));
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        throw CampaignError("cannot write the campaign file " + path + ": rename failed: " + system_error(err));
    }
    // The rename itself is durable once the directory is synced.
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

Campaign read_campaign_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CampaignError("cannot read the campaign file " + path + ": " + system_error(errno));
    std::stringstream text;
    text << in.rdbuf();
    Json j;
    try {
        j = Json::parse(text.str());
    } catch (const std::exception& e) {
        throw CampaignError(path + " is not JSON (" + e.what() + "); --resume takes a campaign-<id>.json file");
    }
    try {
        return campaign_from_json(j);
    } catch (const CampaignError& e) {
        throw CampaignError(path + ": " + e.what());
    }
}

void check_resumable(const Campaign& existing, const ResumeRequest& asked) {
    const std::string what = "campaign " + existing.id + " ";
    if (existing.kind != asked.kind)
        throw CampaignError(what + "is a " + std::string(kind_name(existing.kind)) +
                            " campaign; resume it with the command of its kind, not " +
                            std::string(kind_name(asked.kind)));
    if (existing.status == Status::Complete)
        throw CampaignError(what + "is already complete; start a new campaign instead of --resume");
    if (asked.base && *asked.base != existing.base)
        throw CampaignError(what + "was started with the request " + existing.base.dump() +
                            ", this command line asks for " + asked.base->dump() +
                            "; resume with the same options (or none: the file's are used)");
    if (asked.vary) {
        Json mine = Json::array(), theirs = Json::array();
        for (const auto& v : *asked.vary) mine.push_back(to_json(v));
        for (const auto& v : existing.vary) theirs.push_back(to_json(v));
        if (mine != theirs)
            throw CampaignError(what + "varies " + theirs.dump() + ", this command line " + mine.dump() +
                                "; resume with the same --vary options (or none)");
    }
    if (asked.repeat && *asked.repeat != existing.repeat)
        throw CampaignError(what + "has --repeat " + std::to_string(existing.repeat) + ", this command line " +
                            std::to_string(*asked.repeat) + "; resume with the same --repeat (or none)");
    if (asked.saturate && *asked.saturate != existing.saturate)
        throw CampaignError(what + "searches " + existing.saturate.dump() + ", this command line " +
                            asked.saturate->dump() + "; resume with the same saturate options (or none)");
}

}  // namespace benchdist::campaign
