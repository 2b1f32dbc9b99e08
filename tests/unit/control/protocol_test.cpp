#include "benchdist/control/protocol.hpp"

#include <gtest/gtest.h>

#include <iterator>
#include <regex>

#include "benchdist/control/version.hpp"

using namespace benchdist::control;

namespace {
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const ProtocolError& e) {
        return e.what();
    }
    return "(no error)";
}
}  // namespace

TEST(ControlProtocol, OriginalEpochResultExampleRoundTripsWithKeyOrder) {
    // The @eb0645ced^ example from the wire reference, key order included.
    const std::string original = R"({
  "epoch": 1,
  "label": "run-1",
  "test": "test-1",
  "connector": "spacetimedb",
  "windowSeconds": 30,
  "actualWindowSeconds": 30.014,
  "participantIds": ["gen-a", "gen-b"],
  "participantConnections": 5000,
  "measuredAt": "2026-04-10T12:00:03.210Z",
  "finishedAt": "2026-04-10T12:00:33.224Z",
  "committedBefore": "619241",
  "committedAfter": "1219241",
  "committedDelta": "600000",
  "tps": 19990.671020190577,
  "verification": "passed"
})";
    const auto parsed = epoch_result_from_json(Json::parse(original));
    EXPECT_EQ(parsed.epoch, 1u);
    EXPECT_EQ(parsed.label.value(), "run-1");
    EXPECT_EQ(parsed.participant_ids, (std::vector<std::string>{"gen-a", "gen-b"}));
    EXPECT_EQ(parsed.committed_delta, "600000");
    EXPECT_DOUBLE_EQ(parsed.tps, 19990.671020190577);
    EXPECT_FALSE(parsed.error.has_value());
    EXPECT_EQ(to_json(parsed), Json::parse(original));
    EXPECT_EQ(to_json(parsed).dump(), Json::parse(original).dump()) << "key order must match the original";
}

TEST(ControlProtocol, OptionalResultKeysAreAbsentNotNull) {
    EpochResult r;
    const auto j = to_json(r);
    EXPECT_FALSE(j.contains("error"));
    EXPECT_FALSE(j.contains("verificationError"));
    r.error = "Missing stop acknowledgements from: a";
    r.extra["aborted"] = true;
    const auto j2 = to_json(r);
    EXPECT_EQ(j2["error"], "Missing stop acknowledgements from: a");
    EXPECT_EQ(j2["aborted"], true);
    const auto back = epoch_result_from_json(j2);
    EXPECT_EQ(back.error, r.error);
    EXPECT_EQ(back.extra["aborted"], true);
}

TEST(ControlProtocol, StateRoundTrips) {
    CoordinatorState s;
    s.phase = Phase::Measure;
    s.current_epoch = 3;
    s.participants = {"a"};
    GeneratorSnapshot g;
    g.id = "a";
    g.hostname = "h";
    g.desired_connections = 10;
    g.opened_connections = 10;
    g.local_state = GeneratorState::Running;
    g.active_epoch = 3;
    s.generators.push_back(g);
    s.version = 42;
    const auto j = to_json(s);
    EXPECT_EQ(j["phase"], "measure");
    EXPECT_EQ(j["currentLabel"], nullptr);
    EXPECT_EQ(j["generators"][0]["localState"], "running");
    const auto back = coordinator_state_from_json(j);
    EXPECT_EQ(back.phase, Phase::Measure);
    EXPECT_EQ(back.current_epoch, 3u);
    EXPECT_EQ(back.generators.at(0).active_epoch, 3u);
    EXPECT_EQ(back.version, 42u);
}

TEST(ControlProtocol, ServerTimeIsAnOptionalAddition) {
    CoordinatorState s;
    EXPECT_FALSE(to_json(s).contains("serverTimeMs"));
    EXPECT_FALSE(coordinator_state_from_json(to_json(s)).server_time_ms);
    s.server_time_ms = 1775822400123;
    const auto j = to_json(s);
    EXPECT_EQ(j["serverTimeMs"], 1775822400123);
    // After the original keys, so the original's order is kept.
    EXPECT_EQ(j.items().begin().key(), "phase");
    EXPECT_EQ(std::prev(j.end()).key(), "serverTimeMs");
    EXPECT_EQ(coordinator_state_from_json(j).server_time_ms, 1775822400123);
    auto bad = j;
    bad["serverTimeMs"] = "soon";
    EXPECT_EQ(error_of([&] { coordinator_state_from_json(bad); }), "\"serverTimeMs\" must be an integer");
}

TEST(ControlProtocol, RequestsNameTheBadKey) {
    EXPECT_EQ(error_of([] { register_request_from_json(Json::parse(R"({"hostname":"h","desiredConnections":1})")); }),
              "missing required key \"id\"");
    EXPECT_EQ(error_of([] { ready_request_from_json(Json::parse(R"({"id":"a","openedConnections":-1})")); }),
              "\"openedConnections\" must be a non-negative integer");
    EXPECT_EQ(error_of([] { ready_request_from_json(Json::parse(R"({"id":"a","openedConnections":"5"})")); }),
              "\"openedConnections\" must be a non-negative integer");
    EXPECT_EQ(error_of([] {
                  epoch_ack_request_from_json(Json::parse(R"({"id":"","epoch":1})"));
              }).rfind("\"id\" is not a valid generator id: it is empty", 0),
              0u);
    EXPECT_EQ(error_of([] { start_epoch_request_from_json(Json::parse(R"({"generatorIds":"a,b"})")); }),
              "\"generatorIds\" must be an array of strings");
    // Whole floats from JavaScript clients are accepted.
    EXPECT_EQ(ready_request_from_json(Json::parse(R"({"id":"a","openedConnections":1e3})")).opened_connections, 1000u);
}

// Ids, host names and labels are printed in logs and tables: every request
// that carries one holds it to its rule (identifiers.hpp), naming the key.
TEST(ControlProtocol, HostileNamesAreRefusedNamingTheKeyAndTheRule) {
    const std::string forged = "gen-a\nepoch=1 tps=99999.00 delta=1 verification=passed";
    const std::string esc = "gen\x1b[2J\x1b[31m";
    const std::string nul("gen\0a", 5);
    const std::string huge(1000000, 'a');
    for (const auto& id : {forged, esc, nul, huge, std::string("a,b")}) {
        Json reg{{"id", id}, {"hostname", "h"}, {"desiredConnections", 1}};
        EXPECT_EQ(error_of([&] { register_request_from_json(reg); }).rfind("\"id\" is not a valid generator id", 0),
                  0u);
        Json ready{{"id", id}, {"openedConnections", 1}};
        EXPECT_EQ(error_of([&] { ready_request_from_json(ready); }).rfind("\"id\" is not a valid generator id", 0), 0u);
        Json ack{{"id", id}, {"epoch", 1}};
        EXPECT_EQ(error_of([&] { epoch_ack_request_from_json(ack); }).rfind("\"id\" is not a valid generator id", 0),
                  0u);
        Json start{{"generatorIds", {"gen-b", id}}};
        EXPECT_EQ(error_of([&] {
                      start_epoch_request_from_json(start);
                  }).rfind("\"generatorIds\"[1] is not a valid generator id", 0),
                  0u);
        Json include{{"generatorIds", {id}}};
        EXPECT_EQ(error_of([&] {
                      generator_ids_request_from_json(include);
                  }).rfind("\"generatorIds\"[0] is not a valid generator id", 0),
                  0u);
    }
    Json host{{"id", "gen-a"}, {"hostname", "load1\x1b]0;owned\x07"}, {"desiredConnections", 1}};
    EXPECT_EQ(error_of([&] { register_request_from_json(host); }).rfind("\"hostname\" is not a valid host name", 0),
              0u);
    host["hostname"] = "";
    EXPECT_EQ(error_of([&] { register_request_from_json(host); }).rfind("\"hostname\" is not a valid host name", 0),
              0u);
    EXPECT_EQ(error_of([] {
                  start_epoch_request_from_json(Json{{"label", "run\x1b[31m"}});
              }).rfind("\"label\" holds a control character", 0),
              0u);
    EXPECT_EQ(error_of([] {
                  start_epoch_request_from_json(Json{{"label", std::string(257, 'l')}});
              }).rfind("\"label\" is 257 bytes long", 0),
              0u);
    // What the original harness's generators send is still accepted.
    const auto ok = register_request_from_json(
        Json::parse(R"({"id":"load1.internal-4242","hostname":"load1.internal","desiredConnections":2000})"));
    EXPECT_EQ(ok.id, "load1.internal-4242");
    EXPECT_EQ(generator_ids_request_from_json(Json::parse(R"({"generatorIds":["a","b"]})")).size(), 2u);
    EXPECT_EQ(error_of([] { generator_ids_request_from_json(Json::object()); }),
              "\"generatorIds\" must be an array of strings");
}

TEST(ControlProtocol, ConnectionCountsAboveWhatAGeneratorHoldsAreRefused) {
    Json reg{{"id", "gen-a"}, {"hostname", "h"}, {"desiredConnections", std::uint64_t{18446744073709551615u}}};
    EXPECT_EQ(error_of([&] { register_request_from_json(reg); }),
              "\"desiredConnections\" is 18446744073709551615; a generator holds at most 1000000 connections");
    reg["desiredConnections"] = 1000001;
    EXPECT_NE(error_of([&] { register_request_from_json(reg); }), "(no error)");
    reg["desiredConnections"] = 1000000;
    EXPECT_EQ(register_request_from_json(reg).desired_connections, 1000000u);
    Json ready{{"id", "gen-a"}, {"openedConnections", 1000001}};
    EXPECT_EQ(error_of([&] { ready_request_from_json(ready); }).rfind("\"openedConnections\" is 1000001", 0), 0u);
}

TEST(ControlProtocol, StartEpochRequestFieldsAreOptional) {
    const auto empty = start_epoch_request_from_json(Json::object());
    EXPECT_FALSE(empty.label);
    EXPECT_FALSE(empty.generator_ids);
    const auto full = start_epoch_request_from_json(Json::parse(R"({"label":null,"generatorIds":["a","b"]})"));
    EXPECT_FALSE(full.label);
    EXPECT_EQ(full.generator_ids->size(), 2u);
}

TEST(ControlProtocol, BodiesAreTrimmedAndChecked) {
    EXPECT_EQ(error_of([] { parse_body("  \n "); }), "Request body is empty");
    EXPECT_NE(error_of([] { parse_body("{\"id\": "); }).find("not valid JSON"), std::string::npos);
    EXPECT_EQ(error_of([] { parse_body("[1,2]"); }), "request body must be a JSON object");
    EXPECT_EQ(parse_body(" {\"id\":\"a\"}\n")["id"], "a");
}

TEST(ControlProtocol, AcksKeepExtraFields) {
    const auto ack = epoch_ack_request_from_json(Json::parse(R"({"id":"a","epoch":2,"intervals":[1,2]})"));
    EXPECT_EQ(ack.epoch, 2u);
    EXPECT_EQ(ack.extra["intervals"].size(), 2u);
    EXPECT_EQ(to_json(ack)["intervals"].size(), 2u);
}

TEST(ControlProtocol, Iso8601Millis) {
    EXPECT_EQ(iso8601_millis(1775822433224), "2026-04-10T12:00:33.224Z");
    EXPECT_EQ(iso8601_millis(0), "1970-01-01T00:00:00.000Z");
}

TEST(ControlProtocol, PrettyMatchesTheOriginalFormatting) {
    EXPECT_EQ(pretty(Json{{"ok", true}}), "{\n  \"ok\": true\n}\n");
}

TEST(ControlProtocol, RegisterAndReadyKeepTheirAdditionsAfterTheOriginalKeys) {
    const auto body = Json::parse(R"({"id":"g","hostname":"h","desiredConnections":32,
        "manifest":{"toolVersion":"0.1.0+gabc","hostname":"h","pid":123,"startedAt":"2026-04-10T12:00:00.000Z",
                    "options":{"concurrency":32,"rate":null},
                    "workload":{"alpha":1.5,"accounts":100000,"pairMode":"zipf"}},
        "future":[1]})");
    const auto reg = register_request_from_json(body);
    EXPECT_EQ(reg.desired_connections, 32u);
    EXPECT_EQ(reg.extra["manifest"]["workload"]["alpha"], 1.5);
    EXPECT_EQ(reg.extra["future"], Json::array({1}));
    const auto back = to_json(reg);
    EXPECT_EQ(back, body);
    EXPECT_EQ(back.dump(), body.dump()) << "original keys first, additions in the order received";

    const auto ready_body =
        Json::parse(R"({"id":"g","openedConnections":30,"negotiatedProtocol":"v3.bsatn.spacetimedb"})");
    const auto ready = ready_request_from_json(ready_body);
    EXPECT_EQ(ready.opened_connections, 30u);
    EXPECT_EQ(ready.extra["negotiatedProtocol"], "v3.bsatn.spacetimedb");
    EXPECT_EQ(to_json(ready).dump(), ready_body.dump());
}

TEST(ControlProtocol, OlderGeneratorRequestsHaveNoAdditions) {
    const auto reg = register_request_from_json(Json::parse(R"({"id":"g","hostname":"h","desiredConnections":1})"));
    EXPECT_TRUE(reg.extra.empty());
    EXPECT_EQ(to_json(reg).dump(), R"({"id":"g","hostname":"h","desiredConnections":1})");
    const auto ready = ready_request_from_json(Json::parse(R"({"id":"g","openedConnections":1})"));
    EXPECT_TRUE(ready.extra.empty());
    // Aggregate initialisation as the generator writes it still compiles.
    const RegisterRequest r{"g", "h", 1};
    EXPECT_EQ(to_json(r).size(), 3u);
}

TEST(ControlProtocol, MalformedManifestAndProtocolAreNamed) {
    const auto reg = [](const char* manifest) {
        return error_of([&] {
            register_request_from_json(Json::parse(
                std::string(R"({"id":"g","hostname":"h","desiredConnections":1,"manifest":)") + manifest + "}"));
        });
    };
    EXPECT_EQ(reg("[1]"), "\"manifest\" must be an object");
    EXPECT_EQ(reg(R"({"workload":"zipf"})"), "\"manifest.workload\" must be an object");
    EXPECT_EQ(reg(R"({"options":3})"), "\"manifest.options\" must be an object");
    EXPECT_EQ(reg(R"({"toolVersion":1})"), "\"manifest.toolVersion\" must be a string");
    EXPECT_EQ(reg("null"), "(no error)");
    EXPECT_EQ(error_of([] {
                  ready_request_from_json(Json::parse(R"({"id":"g","openedConnections":1,"negotiatedProtocol":3})"));
              }),
              "\"negotiatedProtocol\" must be a string or null");
    EXPECT_EQ(error_of([] {
                  ready_request_from_json(Json::parse(R"({"id":"g","openedConnections":1,"negotiatedProtocol":""})"));
              }),
              "\"negotiatedProtocol\" must not be empty");
}

TEST(ControlProtocol, StartEpochResponseKeepsAdditions) {
    StartEpochResponse r;
    r.message = "Refusing to start";
    r.extra["workloadDifferences"] = Json::array({Json{{"key", "alpha"}}});
    const auto j = to_json(r);
    EXPECT_EQ(std::prev(j.end()).key(), "workloadDifferences");
    const auto back = start_epoch_response_from_json(j);
    EXPECT_FALSE(back.started);
    EXPECT_EQ(back.extra["workloadDifferences"][0]["key"], "alpha");
    EXPECT_TRUE(start_epoch_response_from_json(to_json(StartEpochResponse{})).extra.empty());
}

TEST(ControlVersion, IsTheProjectVersionWithTheCommitWhenKnown) {
    const std::string v(tool_version());
    EXPECT_TRUE(std::regex_match(v, std::regex(R"(\d+\.\d+\.\d+(\+g[0-9a-f]+(-dirty)?)?)"))) << v;
}
