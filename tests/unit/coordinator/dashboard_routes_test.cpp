// The dashboard's routes, called without a socket: the static files of
// /ui (headers, open without the token while every data route keeps it),
// the epoch history read back from index.jsonl, and the campaigns the
// control posts -- stored atomically in the results directory, refused
// when they are not campaigns, and never a path outside that directory,
// whatever id a request carries.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <sstream>

#include "benchdist/campaign/campaign_file.hpp"
#include "benchdist/coordinator/coordinator.hpp"
#include "benchdist/coordinator/routes.hpp"
#include "benchdist/webassets/chart_js.hpp"

using namespace benchdist;
using namespace benchdist::coordinator;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace fs = std::filesystem;
namespace bcp = benchdist::campaign;

namespace {

// The routes under test read files only; an epoch never runs.
class NoCounter : public CounterSource {
public:
    stdbhttp::CounterRead read() override { throw std::runtime_error("no counter in this test"); }
};

struct Answer {
    unsigned status = 0;
    net::HttpResponse raw;
    control::Json json() const { return control::Json::parse(raw.body); }
    std::optional<std::string> header(std::string_view name) const {
        for (const auto& [k, v] : raw.headers)
            if (net::iequals_ascii(k, name)) return v;
        return std::nullopt;
    }
};

class DashboardRoutesTest : public ::testing::Test {
protected:
    fs::path dir;
    std::unique_ptr<Coordinator> c;
    net::RequestHandler open;  // no token
    net::RequestHandler guarded;

    void SetUp() override {
        dir = fs::temp_directory_path() / ("benchdist-dashboard-routes-" + std::to_string(::getpid()) + "-" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        make(dir);
    }
    void TearDown() override {
        c.reset();
        fs::remove_all(dir);
    }
    void make(const fs::path& results_dir) {
        c.reset();
        CoordinatorOptions options;
        options.results_dir = results_dir;
        options.verify = false;
        c = std::make_unique<Coordinator>(options, std::make_shared<NoCounter>(), nullptr);
        open = make_http_handler(*c);
        guarded = make_http_handler(*c, "s3cret");
    }

    static Answer call(const net::RequestHandler& h, std::string method, std::string target, std::string body = "",
                       net::HeaderList headers = {}) {
        net::HttpRequest r;
        r.method = std::move(method);
        r.target = target;
        const auto q = target.find('?');
        r.path = target.substr(0, q);
        if (q != std::string::npos) r.query = target.substr(q + 1);
        r.body = std::move(body);
        r.headers = std::move(headers);
        std::promise<Answer> p;
        auto f = p.get_future();
        h(std::move(r), [&p](net::HttpResponse res) { p.set_value(Answer{res.status, std::move(res)}); });
        EXPECT_EQ(f.wait_for(2s), std::future_status::ready);
        return f.get();
    }
    Answer get(const std::string& target) { return call(open, "GET", target); }
    Answer post(const std::string& target, std::string body) { return call(open, "POST", target, std::move(body)); }

    static control::EpochResult result(std::uint64_t epoch, std::string finished_at) {
        control::EpochResult r;
        r.epoch = epoch;
        r.label = "run " + std::to_string(epoch);
        r.finished_at = std::move(finished_at);
        r.tps = 1000.0 * static_cast<double>(epoch);
        r.extra["latency"] = control::Json{{"p50", 250}, {"p99", 900}};
        r.extra["verdict"] = "invalid";
        r.extra["reasons"] = control::Json::array({control::Json{{"code", "aborted"}, {"message", "stopped"}},
                                                   control::Json{{"code", "window_short"}, {"message", "short"}}});
        r.extra["warnings"] = control::Json::array({"w"});
        return r;
    }

    static bcp::Campaign campaign(std::string id) {
        bcp::Campaign c;
        c.id = std::move(id);
        c.kind = bcp::Kind::Sweep;
        c.created_at = "2026-12-07T04:00:00.000Z";
        c.updated_at = "2026-12-07T04:01:00.000Z";
        c.base = control::Json{{"windowSeconds", 10}};
        c.vary = {bcp::parse_vary("connections=2,4")};
        for (const auto& g : bcp::grid_points(c.vary)) {
            bcp::PointRecord p;
            p.index = g.index;
            p.values = g.values;
            p.description = g.description;
            p.request = bcp::apply_values(c.base, g.values);
            c.points.push_back(p);
        }
        bcp::EpochRecord e;
        e.epoch = 1;
        e.label = "c connections=2 r1";
        e.verdict = "valid";
        e.measured = true;
        e.tps = 5000;
        e.latency = control::Json{{"p50Us", 100}, {"p99Us", 800}};
        c.points[0].epochs.push_back(e);
        return c;
    }
    static std::string campaign_text(const std::string& id) { return bcp::to_json(campaign(id)).dump(); }

    std::string slurp(const fs::path& p) const {
        std::ifstream in(p);
        std::ostringstream out;
        out << in.rdbuf();
        return out.str();
    }
};

}  // namespace

// ---- /ui ------------------------------------------------------------------

TEST_F(DashboardRoutesTest, ServesThePageWithItsSecurityAndCachingHeaders) {
    auto a = get("/ui");
    EXPECT_EQ(a.status, 301u);
    EXPECT_EQ(a.header("Location"), "ui/") << "relative, so the page's relative links work behind a path prefix";

    a = get("/ui/");
    ASSERT_EQ(a.status, 200u);
    EXPECT_EQ(a.raw.content_type, "text/html; charset=utf-8");
    EXPECT_THAT(a.raw.body, HasSubstr("<script src=\"app.js\""));
    EXPECT_EQ(a.raw.body.find("<script>"), std::string::npos) << "no inline script: the CSP forbids it";
    const auto csp = a.header("Content-Security-Policy");
    ASSERT_TRUE(csp);
    EXPECT_THAT(*csp, StartsWith("default-src 'self'"));
    EXPECT_THAT(*csp, HasSubstr("connect-src 'self'"));
    EXPECT_THAT(*csp, HasSubstr("frame-ancestors 'none'"));
    EXPECT_EQ(csp->find("unsafe"), std::string::npos);
    EXPECT_EQ(a.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(a.header("Cache-Control"), "no-cache");
    const auto etag = a.header("ETag");
    ASSERT_TRUE(etag);
    EXPECT_EQ(get("/ui/index.html").raw.body, a.raw.body);

    // Revalidation: the same ETag answers 304 without the body.
    const auto again = call(open, "GET", "/ui/", "", {{"If-None-Match", *etag}});
    EXPECT_EQ(again.status, 304u);
    EXPECT_TRUE(again.raw.body.empty());
    EXPECT_EQ(call(open, "GET", "/ui/", "", {{"If-None-Match", "\"other\""}}).status, 200u);

    a = get("/ui/app.js");
    EXPECT_EQ(a.status, 200u);
    EXPECT_EQ(a.raw.content_type, "text/javascript; charset=utf-8");
    EXPECT_NE(a.header("ETag"), etag);
    a = get("/ui/style.css");
    EXPECT_EQ(a.raw.content_type, "text/css; charset=utf-8");
    a = get("/ui/chart.min.js");
    EXPECT_EQ(a.raw.content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(a.raw.body, webassets::chart_js());

    a = get("/ui/secrets.json");
    EXPECT_EQ(a.status, 404u);
    EXPECT_EQ(a.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(post("/ui/", "{}").status, 405u);
}

TEST_F(DashboardRoutesTest, StaticFilesNeedNoTokenAndEverythingElseStillDoes) {
    for (const char* path : {"/ui", "/ui/", "/ui/index.html", "/ui/app.js", "/ui/style.css", "/ui/chart.min.js"}) {
        EXPECT_LT(call(guarded, "GET", path).status, 400u) << path;
    }
    // Data, unknown files and paths that only look like the dashboard's.
    for (const char* path : {"/admin/results", "/admin/results/1", "/admin/campaigns", "/admin/campaigns/x", "/ui/nope",
                             "/ui/../admin/results", "/ui/%2e%2e/admin/results", "/uiadmin", "/state"}) {
        EXPECT_EQ(call(guarded, "GET", path).status, 401u) << path;
    }
    EXPECT_EQ(call(guarded, "POST", "/admin/campaigns", campaign_text("c1")).status, 401u);
    EXPECT_FALSE(fs::exists(dir / "campaign-c1.json"));
    const net::HeaderList token{{"Authorization", "Bearer s3cret"}};
    EXPECT_EQ(call(guarded, "GET", "/admin/results", "", token).status, 200u);
    // /healthz tells the page whether to ask for a token at all.
    EXPECT_EQ(call(guarded, "GET", "/healthz").json()["authRequired"], true);
    EXPECT_EQ(call(open, "GET", "/healthz").json()["authRequired"], false);

    // The header screen (before a body is read) agrees, and a static file
    // fetched without the token does not admit its connection.
    const auto screen = make_auth_screen("s3cret");
    net::HttpRequest head;
    head.method = "GET";
    head.path = "/ui/app.js";
    auto verdict = screen(head);
    EXPECT_FALSE(verdict.refusal);
    EXPECT_FALSE(verdict.authenticated);
    head.method = "POST";
    head.path = "/admin/campaigns";
    EXPECT_TRUE(screen(head).refusal);
}

TEST_F(DashboardRoutesTest, OnlyStoppedAndCampaignPostsGetTheLargeBodyLimit) {
    EXPECT_EQ(body_limit_for("/stopped", 64 << 20, 1 << 20), 64u << 20);
    EXPECT_EQ(body_limit_for("/admin/campaigns", 64 << 20, 1 << 20), 64u << 20);
    EXPECT_EQ(body_limit_for("/admin/campaigns?x=1", 64 << 20, 1 << 20), 64u << 20);
    EXPECT_EQ(body_limit_for("/admin/campaigns/x", 64 << 20, 1 << 20), 1u << 20);
    EXPECT_EQ(body_limit_for("/admin/start-epoch", 64 << 20, 1 << 20), 1u << 20);
    EXPECT_EQ(body_limit_for("/ui/", 64 << 20, 1 << 20), 1u << 20);
    EXPECT_EQ(body_limit_for("/register", 4096, 1 << 20), 4096u) << "never above the large limit";
}

// ---- /admin/results -------------------------------------------------------

TEST_F(DashboardRoutesTest, HistoryIsNewestFirstFromTheIndex) {
    auto a = get("/admin/results");
    ASSERT_EQ(a.status, 200u);
    EXPECT_EQ(a.json(), control::Json({{"results", control::Json::array()}})) << "no index yet";

    const ResultStore store(dir);
    store.write(result(1, "2026-12-07T04:00:01.000Z"));
    store.write(result(2, "2026-12-07T04:00:02.000Z"));
    // A coordinator restarted on the same directory counts from 1 again.
    auto again = result(1, "2026-12-07T05:00:01.000Z");
    again.label = std::nullopt;
    again.extra["verdict"] = "valid";
    again.extra["reasons"] = control::Json::array();
    store.write(again);

    a = get("/admin/results");
    ASSERT_EQ(a.status, 200u);
    const auto list = a.json()["results"];
    ASSERT_EQ(list.size(), 3u);
    EXPECT_EQ(list[0], control::Json({{"epoch", 1},
                                      {"label", nullptr},
                                      {"verdict", "valid"},
                                      {"tps", 1000.0},
                                      {"finishedAt", "2026-12-07T05:00:01.000Z"},
                                      {"aborted", false},
                                      {"p50", 250},
                                      {"p99", 900},
                                      {"reasons", control::Json::array()},
                                      {"warnings", 1}}));
    EXPECT_EQ(list[1]["epoch"], 2);
    EXPECT_EQ(list[1]["label"], "run 2");
    EXPECT_EQ(list[1]["reasons"], control::Json({"aborted", "window_short"}));
    EXPECT_EQ(list[2]["finishedAt"], "2026-12-07T04:00:01.000Z");

    a = get("/admin/results?limit=2");
    EXPECT_EQ(a.json()["results"].size(), 2u);
    EXPECT_EQ(get("/admin/results?limit=0").json()["results"].size(), 0u);
    EXPECT_EQ(get("/admin/results?limit=99999999").json()["results"].size(), 3u);
    EXPECT_EQ(get("/admin/results?limit=-1").status, 400u);

    // One result: the newest of that number, the file's content.
    a = get("/admin/results/1");
    ASSERT_EQ(a.status, 200u);
    EXPECT_EQ(a.json(), control::to_json(again));
    EXPECT_EQ(get("/admin/results/2").json()["label"], "run 2");
    a = get("/admin/results/3");
    EXPECT_EQ(a.status, 404u);
    EXPECT_THAT(a.json()["error"].get<std::string>(), HasSubstr("No result of epoch 3"));
    for (const char* bad : {"/admin/results/", "/admin/results/x", "/admin/results/1x", "/admin/results/-1",
                            "/admin/results/1/2", "/admin/results/99999999999999999999999"}) {
        a = get(bad);
        EXPECT_EQ(a.status, 400u) << bad;
        EXPECT_THAT(a.json()["error"].get<std::string>(), HasSubstr("takes an epoch number")) << bad;
    }
    EXPECT_EQ(post("/admin/results", "{}").status, 405u);
}

TEST_F(DashboardRoutesTest, HistorySkipsTornLinesAndReadsLongOnesAcrossChunks) {
    const ResultStore store(dir);
    auto big = result(1, "2026-12-07T04:00:01.000Z");
    // Longer than the 64 KiB the index is read back in.
    big.extra["padding"] = std::string(200 * 1024, 'x');
    store.write(big);
    {
        // A line torn by a crash, then a line still being appended.
        std::ofstream index(dir / "index.jsonl", std::ios::app);
        index << "{\"epoch\":7,\"lab\n";
    }
    store.write(result(2, "2026-12-07T04:00:02.000Z"));
    {
        std::ofstream index(dir / "index.jsonl", std::ios::app);
        index << "{\"epoch\":3,\"label\":\"half";
    }
    const auto recent = store.recent(10);
    ASSERT_EQ(recent.size(), 2u);
    EXPECT_EQ(recent[0]["epoch"], 2);
    EXPECT_EQ(recent[1]["epoch"], 1);
    EXPECT_EQ(recent[1]["padding"].get<std::string>().size(), 200u * 1024);
    EXPECT_EQ(store.recent(1).size(), 1u);
    EXPECT_FALSE(store.find(3)) << "an unterminated line is not a result yet";
    EXPECT_FALSE(store.find(7));
    ASSERT_TRUE(store.find(1));
    EXPECT_EQ((*store.find(1))["padding"].get<std::string>().size(), 200u * 1024);
}

// ---- /admin/campaigns -----------------------------------------------------

TEST_F(DashboardRoutesTest, StoresAPostedCampaignAndServesItBack) {
    EXPECT_EQ(get("/admin/campaigns").json(), control::Json({{"campaigns", control::Json::array()}}));

    auto a = post("/admin/campaigns", campaign_text("sweep-1"));
    ASSERT_EQ(a.status, 200u) << a.raw.body;
    EXPECT_EQ(a.json()["stored"], true);
    EXPECT_EQ(a.json()["campaign"]["id"], "sweep-1");
    const auto file = dir / "campaign-sweep-1.json";
    ASSERT_TRUE(fs::exists(file));
    EXPECT_EQ(control::Json::parse(slurp(file)), bcp::to_json(campaign("sweep-1")));

    // The control posts again after every epoch: the file is replaced.
    auto next = campaign("sweep-1");
    next.updated_at = "2026-12-07T04:02:00.000Z";
    next.status = bcp::Status::Complete;
    EXPECT_EQ(post("/admin/campaigns", bcp::to_json(next).dump()).status, 200u);
    EXPECT_EQ(control::Json::parse(slurp(file))["status"], "complete");
    auto older = campaign("older");
    older.updated_at = "2026-12-06T00:00:00.000Z";
    older.kind = bcp::Kind::Runs;
    older.vary.clear();
    EXPECT_EQ(post("/admin/campaigns", bcp::to_json(older).dump()).status, 200u);

    a = get("/admin/campaigns");
    ASSERT_EQ(a.status, 200u);
    const auto list = a.json()["campaigns"];
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0], control::Json({{"id", "sweep-1"},
                                      {"kind", "sweep"},
                                      {"status", "complete"},
                                      {"message", nullptr},
                                      {"points", 2},
                                      {"validPoints", 1},
                                      {"invalidPoints", 0},
                                      {"epochs", 1},
                                      {"createdAt", "2026-12-07T04:00:00.000Z"},
                                      {"updatedAt", "2026-12-07T04:02:00.000Z"}}));
    EXPECT_EQ(list[1]["id"], "older") << "the most recently updated first";

    a = get("/admin/campaigns/sweep-1");
    ASSERT_EQ(a.status, 200u);
    EXPECT_EQ(a.json(), bcp::to_json(next));
    a = get("/admin/campaigns/nope");
    EXPECT_EQ(a.status, 404u);
    EXPECT_THAT(a.json()["error"].get<std::string>(), HasSubstr("No campaign \"nope\""));
}

TEST_F(DashboardRoutesTest, RefusesBodiesThatAreNotCampaigns) {
    const auto refused = [&](const std::string& body, const std::string& why) {
        const auto a = post("/admin/campaigns", body);
        EXPECT_EQ(a.status, 400u) << body;
        EXPECT_THAT(a.json()["error"].get<std::string>(), HasSubstr(why)) << body;
    };
    refused("", "Request body is empty");
    refused("not json", "");
    refused("[1,2]", "JSON object");
    refused(R"({"campaign":"x","kind":"sweep"})", "not a campaign file");
    refused(R"({"campaign":"x","kind":"lottery","points":[]})", "\"kind\"");
    refused(R"({"campaign":"x","kind":"sweep","status":"running","points":[{"epochs":[{"epoch":"one"}]}]})",
            "\"epoch\" number");
    refused(R"({"campaign":"x","kind":"sweep","status":"running","points":[],"repeat":-1})", "\"repeat\"");
    auto mistyped = bcp::to_json(campaign("x"));
    mistyped["points"][0]["epochs"][0]["measured"] = "yes";
    refused(mistyped.dump(), "not a campaign file");
    // A long offending part is not quoted back whole.
    auto long_one = R"({"campaign":"x","kind":"sweep","status":"running","points":[{"epochs":[{"epoch":"one","pad":")" +
                    std::string(100000, 'p') + R"("}]}]})";
    const auto a = post("/admin/campaigns", long_one);
    EXPECT_EQ(a.status, 400u);
    EXPECT_LT(a.raw.body.size(), 1000u);
    EXPECT_FALSE(fs::exists(dir)) << "nothing written for a refused body";
}

TEST_F(DashboardRoutesTest, HostileCampaignIdsNeverReachTheFileSystem) {
    fs::create_directories(dir);
    const auto outside = dir.parent_path() / ("campaign-escape-" + std::to_string(::getpid()) + ".json");
    for (const std::string& id :
         std::vector<std::string>{"../escape", "../../tmp/x", "a/b", ".", "..", "", std::string(65, 'a'), "<img src=x>",
                                  "id with space", "nul\x01"}) {
        auto body = bcp::to_json(campaign("ok"));
        body["campaign"] = id;
        const auto a = post("/admin/campaigns", body.dump());
        EXPECT_EQ(a.status, 400u) << id;
        EXPECT_THAT(a.json()["error"].get<std::string>(), HasSubstr("campaign id")) << id;
    }
    for (const char* path : {"/admin/campaigns/..", "/admin/campaigns/%2e%2e", "/admin/campaigns/..%2Fescape",
                             "/admin/campaigns/a%2Fb", "/admin/campaigns/%2Fetc%2Fpasswd", "/admin/campaigns/",
                             "/admin/campaigns/%3Cimg%3E", "/admin/campaigns/%zz", "/admin/campaigns/a/b"}) {
        const auto a = get(path);
        EXPECT_EQ(a.status, 400u) << path;
        EXPECT_EQ(a.json()["error"].get<std::string>().find('<'), std::string::npos) << path;
    }
    EXPECT_FALSE(fs::exists(outside));
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
    EXPECT_EQ(files, 0u);
}

TEST_F(DashboardRoutesTest, ListingLeavesOutFilesThatAreNotCampaigns) {
    ASSERT_EQ(post("/admin/campaigns", campaign_text("good")).status, 200u);
    std::ofstream(dir / "campaign-junk.json") << "{\"not\": \"a campaign\"}";
    std::ofstream(dir / "campaign-torn.json") << "{\"campaign\": \"torn\", \"ki";
    std::ofstream(dir / "campaign-good.json.tmp-ab12cd") << campaign_text("tmp");
    std::ofstream(dir / "other.json") << campaign_text("other");
    const auto list = get("/admin/campaigns").json()["campaigns"];
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["id"], "good");

    // A file rewritten in place is read again; a removed one drops out.
    auto changed = campaign("good");
    changed.status = bcp::Status::Failed;
    changed.message = "the coordinator went away";
    bcp::write_campaign_file((dir / "campaign-good.json").string(), bcp::to_json(changed));
    EXPECT_EQ(get("/admin/campaigns").json()["campaigns"][0]["status"], "failed");
    fs::remove(dir / "campaign-good.json");
    EXPECT_TRUE(get("/admin/campaigns").json()["campaigns"].empty());
}

TEST_F(DashboardRoutesTest, AResultsDirectoryThatCannotBeWrittenIsA500) {
    std::ofstream(dir.string() + "-file") << "a file where the directory should be";
    make(dir.string() + "-file");
    const auto a = post("/admin/campaigns", campaign_text("c1"));
    EXPECT_EQ(a.status, 500u);
    EXPECT_THAT(a.json()["error"].get<std::string>(), HasSubstr("cannot store the campaign"));
    EXPECT_EQ(get("/admin/campaigns").json()["campaigns"].size(), 0u);
    fs::remove(dir.string() + "-file");
}
