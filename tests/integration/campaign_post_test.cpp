// bench-dist-control posts its campaign file to the coordinator after every
// epoch (POST /admin/campaigns), for the dashboard. With our coordinator the
// copy in its results directory equals the control's file. In front of a
// coordinator that refuses the post, a proxy here answers the route itself:
// 404 (a coordinator without it) is asked once and never again; any other
// refusal is a warning, printed once, and the campaign still completes.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_client.hpp"
#include "benchdist/net/http_server.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
namespace bn = benchdist::net;
using namespace benchdist::testing;
using namespace std::chrono_literals;

namespace {

bc::Json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    return bc::Json::parse(in);
}

RigOptions two_generator_rig(const std::string& tag) {
    RigOptions o;
    o.tag = tag;
    o.coordinator_args = std::vector<std::string>{"--window-seconds", "1", "--warmup-seconds", "0"};
    return o;
}

// Forwards every request to `target` except POST /admin/campaigns, which it
// answers with `status` and counts.
class CampaignRefusingProxy {
public:
    CampaignRefusingProxy(std::string target, unsigned status) : target_(std::move(target)) {
        bn::HttpServerOptions o;
        o.threads = 4;  // forwarding blocks its thread for the request's length
        server_ = std::make_unique<bn::HttpServer>(o, [this, status](bn::HttpRequest req, bn::Respond respond) {
            if (req.method == "POST" && req.path == "/admin/campaigns") {
                ++posts_;
                respond(bn::HttpResponse::json_text(
                    status, bc::Json{{"error", status == 404 ? "Unknown route: POST /admin/campaigns"
                                                             : "campaigns refused by the test"}}
                                .dump()));
                return;
            }
            bn::ClientRequest forward{.method = req.method,
                                      .url = target_ + req.target,
                                      .body = req.body,
                                      .content_type = req.body.empty() ? "" : "application/json",
                                      .timeout = 40s};
            try {
                const auto res = bn::http_request(forward);
                respond(bn::HttpResponse::json_text(res.status, res.body));
            } catch (const std::exception& e) {
                respond(bn::HttpResponse::json_text(502, bc::Json{{"error", e.what()}}.dump()));
            }
        });
        server_->start();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
    int posts() const { return posts_; }

private:
    std::string target_;
    std::atomic<int> posts_{0};
    std::unique_ptr<bn::HttpServer> server_;
};

ToolRun sweep(const std::string& coordinator_url, const std::filesystem::path& campaign_dir, const std::string& id) {
    return run_tool("bench-dist-control",
                    {"--coordinator-url", coordinator_url, "sweep", "--vary", "connections=2,4", "--campaign-id", id,
                     "--campaign-dir", campaign_dir.string(), "--poll-ms", "100", "--timeout", "120"},
                    {}, {}, 300s);
}

std::size_t count(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

}  // namespace

TEST(CampaignPost, TheCoordinatorKeepsACopyOfTheCampaignFile) {
    Rig rig(two_generator_rig("campaign-post"));
    rig.start_generator("gen-a");
    rig.start_generator("gen-b");
    rig.wait_ready(2);
    const auto mine = rig.dir() / "control";
    const auto run = sweep(rig.coordinator().url(), mine, "posted");
    ASSERT_EQ(run.rc, 0) << run.out;
    EXPECT_EQ(run.out.find("warning"), std::string::npos) << run.out;
    const auto copy = rig.results_dir() / "campaign-posted.json";
    ASSERT_TRUE(std::filesystem::exists(copy)) << run.out;
    EXPECT_EQ(read_json(copy), read_json(mine / "campaign-posted.json"));
    EXPECT_EQ(read_json(copy)["status"], "complete") << "the post after the last save arrived";
}

TEST(CampaignPost, ACoordinatorWithoutTheRouteIsAskedOnce) {
    Rig rig(two_generator_rig("campaign-post-404"));
    rig.start_generator("gen-a");
    rig.start_generator("gen-b");
    rig.wait_ready(2);
    CampaignRefusingProxy proxy(rig.coordinator().url(), 404);
    const auto run = sweep(proxy.url(), rig.dir() / "control", "no-route");
    ASSERT_EQ(run.rc, 0) << run.out;
    EXPECT_EQ(proxy.posts(), 1) << run.out;
    EXPECT_EQ(count(run.out, "does not keep campaigns"), 1u) << run.out;
    EXPECT_EQ(read_json(rig.dir() / "control" / "campaign-no-route.json")["status"], "complete");
}

TEST(CampaignPost, ARefusedPostIsAWarningOnceAndTheCampaignGoesOn) {
    Rig rig(two_generator_rig("campaign-post-400"));
    rig.start_generator("gen-a");
    rig.start_generator("gen-b");
    rig.wait_ready(2);
    CampaignRefusingProxy proxy(rig.coordinator().url(), 400);
    const auto run = sweep(proxy.url(), rig.dir() / "control", "refused");
    ASSERT_EQ(run.rc, 0) << run.out;
    // Saved (and posted) when it starts, after each of the two epochs and
    // at its end.
    EXPECT_EQ(proxy.posts(), 4) << run.out;
    EXPECT_EQ(count(run.out, "warning: the coordinator did not store campaign refused"), 1u) << run.out;
    EXPECT_NE(run.out.find("campaigns refused by the test"), std::string::npos) << run.out;
    EXPECT_EQ(read_json(rig.dir() / "control" / "campaign-refused.json")["status"], "complete");
}
