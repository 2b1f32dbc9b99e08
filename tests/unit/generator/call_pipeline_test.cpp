#include "benchdist/generator/call_pipeline.hpp"

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "benchdist/stdb/transfer_module.hpp"
#include "benchdist/stdb/v3_framing.hpp"

namespace {

using benchdist::generator::CallOutcome;
using benchdist::generator::CallPipeline;
using benchdist::generator::CallStatus;
using benchdist::stdb::ProtocolVersion;
using namespace std::chrono_literals;

using Clock = CallPipeline::Clock;
const Clock::time_point t0{};

// What a handler saw, copied (the outcome's text lives only during the call).
struct Seen {
    CallStatus status;
    std::string text;
    Clock::time_point at;
};

CallPipeline::CallHandler record(std::vector<Seen>& seen) {
    return [&seen](const CallOutcome& o) { seen.push_back({o.status, std::string(o.text), o.at}); };
}

struct Sent {
    std::uint32_t request_id;
    benchdist::stdb::transfer::TransferArgs args;
};

// Decodes one outgoing message as the server would.
std::vector<Sent> decode(std::span<const std::uint8_t> frame, ProtocolVersion v) {
    std::vector<Sent> out;
    for (const auto& m : benchdist::stdb::decode_client_frame(frame, v)) {
        const auto& call = std::get<benchdist::stdb::CallReducer>(m);
        EXPECT_EQ(call.reducer, "transfer");
        out.push_back({call.request_id, benchdist::stdb::transfer::decode_transfer_args(call.args)});
    }
    return out;
}

TEST(CallPipeline, RequestIdsCountFromOneAndTheMessageCarriesTheTransfer) {
    CallPipeline p(4);
    std::vector<Seen> seen;
    EXPECT_EQ(p.add_transfer(7, 9, 3, t0 + 1s, 1000ms, record(seen)), 1u);
    EXPECT_EQ(p.add_transfer(1, 2, -5, t0 + 1s, 1000ms, record(seen)), 2u);
    EXPECT_EQ(p.in_flight(), 2u);
    ASSERT_TRUE(p.write_ready());
    const auto sent = decode(p.start_write(ProtocolVersion::V3), ProtocolVersion::V3);
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].request_id, 1u);
    EXPECT_EQ(sent[0].args.from, 7u);
    EXPECT_EQ(sent[0].args.to, 9u);
    EXPECT_EQ(sent[0].args.amount, 3);
    EXPECT_EQ(sent[1].request_id, 2u);
    EXPECT_EQ(sent[1].args.amount, -5);
    EXPECT_TRUE(seen.empty());
}

TEST(CallPipeline, V3CoalescesEverythingQueuedV2SendsOneCallPerMessage) {
    for (const auto v : {ProtocolVersion::V3, ProtocolVersion::V2}) {
        CallPipeline p(8);
        std::vector<Seen> seen;
        for (std::uint32_t i = 0; i < 5; ++i) p.add_transfer(i, i + 1, 1, t0 + 1s, 1000ms, record(seen));
        std::vector<std::size_t> per_message;
        while (p.write_ready()) {
            per_message.push_back(decode(p.start_write(v), v).size());
            p.finish_write();
        }
        if (v == ProtocolVersion::V3) {
            EXPECT_EQ(per_message, std::vector<std::size_t>{5});
        } else {
            EXPECT_EQ(per_message, std::vector<std::size_t>(5, 1));
        }
        EXPECT_EQ(p.frames_sent(), per_message.size());
        EXPECT_EQ(p.calls_sent(), 5u);
    }
}

TEST(CallPipeline, AV3MessageStaysUnderTheSdksCap) {
    const std::size_t calls = 20000;  // about 40 bytes each: more than 256 KiB in all
    CallPipeline p(calls);
    std::vector<Seen> seen;
    for (std::uint32_t i = 0; i < calls; ++i) p.add_transfer(i, i + 1, 1, t0 + 1s, 1000ms, record(seen));
    std::size_t carried = 0;
    std::uint32_t next_id = 1;
    while (p.write_ready()) {
        const auto frame = p.start_write(ProtocolVersion::V3);
        EXPECT_LE(frame.size(), CallPipeline::kMaxV3FrameBytes);
        for (const auto& s : decode(frame, ProtocolVersion::V3)) EXPECT_EQ(s.request_id, next_id++);  // in order
        carried = p.calls_sent();
        p.finish_write();
    }
    EXPECT_EQ(carried, calls);
    EXPECT_GT(p.frames_sent(), 1u);
}

TEST(CallPipeline, OneWriteAtATimeAndItsBytesHoldWhileMoreIsQueued) {
    CallPipeline p(4);
    std::vector<Seen> seen;
    p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, record(seen));
    const auto frame = p.start_write(ProtocolVersion::V3);
    const std::vector<std::uint8_t> copy(frame.begin(), frame.end());
    EXPECT_FALSE(p.write_ready());  // nothing queued
    p.add_transfer(3, 4, 1, t0 + 1s, 1000ms, record(seen));
    p.add_transfer(5, 6, 1, t0 + 1s, 1000ms, record(seen));
    EXPECT_FALSE(p.write_ready());  // queued, but a write is under way
    EXPECT_EQ(std::vector<std::uint8_t>(frame.begin(), frame.end()), copy);
    p.finish_write();
    ASSERT_TRUE(p.write_ready());
    const auto second = decode(p.start_write(ProtocolVersion::V3), ProtocolVersion::V3);
    ASSERT_EQ(second.size(), 2u);
    EXPECT_EQ(second[0].request_id, 2u);
    EXPECT_EQ(second[1].request_id, 3u);
}

TEST(CallPipeline, AClearedOutboxSendsNothingButTheCallsStayInFlight) {
    CallPipeline p(2);
    std::vector<Seen> seen;
    p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, record(seen));
    p.clear_outbox();
    EXPECT_FALSE(p.write_ready());
    EXPECT_EQ(p.in_flight(), 1u);
    EXPECT_EQ(p.frames_sent(), 0u);
}

TEST(CallPipeline, AResultEndsItsCallByRequestIdOnce) {
    CallPipeline p(3);
    std::vector<Seen> a, b;
    const auto ia = p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, record(a));
    const auto ib = p.add_transfer(3, 4, 1, t0 + 1s, 1000ms, record(b));
    EXPECT_TRUE(p.complete(ib, CallStatus::ModuleError, "insufficient_funds"));
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].status, CallStatus::ModuleError);
    EXPECT_EQ(b[0].text, "insufficient_funds");
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(p.in_flight(), 1u);
    EXPECT_FALSE(p.complete(ib, CallStatus::Committed, {}));  // already answered
    EXPECT_FALSE(p.complete(99, CallStatus::Committed, {}));  // never sent
    EXPECT_TRUE(p.complete(ia, CallStatus::Committed, {}));
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].status, CallStatus::Committed);
    EXPECT_EQ(p.in_flight(), 0u);
}

TEST(CallPipeline, FullAtMaxInflightAndAFreedSlotIsReused) {
    CallPipeline p(2);
    EXPECT_EQ(CallPipeline(0).max_inflight(), 1u);
    std::vector<Seen> seen;
    p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, record(seen));
    EXPECT_FALSE(p.full());
    p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, record(seen));
    EXPECT_TRUE(p.full());
    p.complete(1, CallStatus::Committed, {});
    EXPECT_FALSE(p.full());
    EXPECT_EQ(p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, record(seen)), 3u);
    EXPECT_TRUE(p.full());
    EXPECT_TRUE(p.complete(3, CallStatus::Committed, {}));
    EXPECT_TRUE(p.complete(2, CallStatus::Committed, {}));
    EXPECT_EQ(seen.size(), 3u);
}

TEST(CallPipeline, DeadlinesTellWhatExpiredAndWhenToLookAgain) {
    CallPipeline p(3);
    std::vector<Seen> seen;
    EXPECT_FALSE(p.check_deadlines(t0).expired);
    EXPECT_FALSE(p.check_deadlines(t0).next);
    p.add_transfer(1, 2, 1, t0 + 300ms, 300ms, record(seen));
    p.add_transfer(1, 2, 1, t0 + 100ms, 100ms, record(seen));
    p.add_transfer(1, 2, 1, t0 + 200ms, 200ms, record(seen));

    auto c = p.check_deadlines(t0 + 50ms);
    EXPECT_FALSE(c.expired);
    EXPECT_EQ(c.next, t0 + 100ms);
    c = p.check_deadlines(t0 + 100ms);  // a deadline reached counts as passed
    EXPECT_TRUE(c.expired);
    EXPECT_EQ(c.next, t0 + 200ms);

    p.time_out_expired(t0 + 250ms);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].status, CallStatus::Timeout);
    EXPECT_EQ(seen[0].text, "no ReducerResult within 100 ms");
    EXPECT_EQ(seen[1].text, "no ReducerResult within 200 ms");
    EXPECT_EQ(p.in_flight(), 1u);
    EXPECT_TRUE(p.complete(1, CallStatus::Committed, {}));  // the one still in time
}

TEST(CallPipeline, FailAllEndsEveryCallAsDisconnected) {
    CallPipeline p(3);
    std::vector<Seen> seen;
    p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, record(seen));
    p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, record(seen));
    p.fail_all("connection closed");
    ASSERT_EQ(seen.size(), 2u);
    for (const auto& s : seen) {
        EXPECT_EQ(s.status, CallStatus::Disconnected);
        EXPECT_EQ(s.text, "connection closed");
    }
    EXPECT_EQ(p.in_flight(), 0u);
    p.fail_all("again");
    EXPECT_EQ(seen.size(), 2u);
}

TEST(CallPipeline, AHandlerThatDropsEveryCallStopsTheWalk) {
    // What happens when a handler destroys the StdbConnection that owns the
    // pipeline's calls (release() drops them): no other handler may run.
    CallPipeline p(3);
    int ran = 0;
    for (int i = 0; i < 3; ++i) {
        p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, [&](const CallOutcome&) {
            ++ran;
            p.drop_all();
        });
    }
    p.fail_all("lost");
    EXPECT_EQ(ran, 1);
    EXPECT_EQ(p.in_flight(), 0u);
    EXPECT_FALSE(p.complete(2, CallStatus::Committed, {}));
}

TEST(CallPipeline, AHandlerMayCallAgainAndTheNewCallWaitsForTheDispatchToEnd) {
    CallPipeline p(1);
    std::vector<Seen> seen;
    p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, [&](const CallOutcome&) {
        EXPECT_FALSE(p.full());  // the slot is free again inside its own handler
        p.add_transfer(3, 4, 1, t0 + 2s, 1000ms, record(seen));
    });
    p.start_write(ProtocolVersion::V3);
    p.finish_write();
    p.begin_dispatch(t0 + 5ms);
    EXPECT_TRUE(p.dispatching());
    EXPECT_TRUE(p.complete(1, CallStatus::Committed, {}));
    p.end_dispatch();
    EXPECT_FALSE(p.dispatching());
    EXPECT_EQ(p.in_flight(), 1u);
    ASSERT_TRUE(p.write_ready());
    const auto sent = decode(p.start_write(ProtocolVersion::V3), ProtocolVersion::V3);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].request_id, 2u);
    EXPECT_EQ(sent[0].args.from, 3u);
}

// Issue 18, item 3: one clock reading per read serves every outcome it
// carries and the deadlines of the calls their handlers make.
TEST(CallPipeline, OutcomesOfOneDispatchCarryItsTimeAndOnlyThoseOfTheOutermost) {
    CallPipeline p(3);
    std::vector<Seen> seen;
    p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, record(seen));
    p.add_transfer(3, 4, 1, t0 + 1s, 1000ms, record(seen));
    p.add_transfer(5, 6, 1, t0 + 1s, 1000ms, record(seen));
    p.begin_dispatch(t0 + 7ms);
    EXPECT_EQ(p.batch_time(), t0 + 7ms);
    p.begin_dispatch(t0 + 9ms);  // nested: the outer batch's time stays
    EXPECT_EQ(p.batch_time(), t0 + 7ms);
    EXPECT_TRUE(p.complete(1, CallStatus::Committed, {}));
    p.end_dispatch();
    EXPECT_TRUE(p.complete(2, CallStatus::ModuleError, "no"));
    p.end_dispatch();
    // Outside a dispatch nobody gave a time: the handler must read the clock.
    EXPECT_TRUE(p.complete(3, CallStatus::Committed, {}));
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].at, t0 + 7ms);
    EXPECT_EQ(seen[1].at, t0 + 7ms);
    EXPECT_EQ(seen[2].at, Clock::time_point{});
}

TEST(CallPipeline, ATimeoutCarriesTheCheckTimeAndALostConnectionNone) {
    CallPipeline p(2);
    std::vector<Seen> seen;
    p.add_transfer(1, 2, 1, t0 + 100ms, 100ms, record(seen));
    p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, record(seen));
    p.time_out_expired(t0 + 150ms);
    p.fail_all("gone");
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].status, CallStatus::Timeout);
    EXPECT_EQ(seen[0].at, t0 + 150ms);
    EXPECT_EQ(seen[1].status, CallStatus::Disconnected);
    EXPECT_EQ(seen[1].at, Clock::time_point{});
}

TEST(CallPipeline, StatusNames) {
    EXPECT_EQ(benchdist::generator::call_status_name(CallStatus::Committed), "committed");
    EXPECT_EQ(benchdist::generator::call_status_name(CallStatus::Disconnected), "disconnected");
}

TEST(CallPipeline, RaisingMaxInflightMakesRoomAndKeepsTheCallsInFlight) {
    CallPipeline p(1);
    std::vector<Seen> seen;
    const auto first = p.add_transfer(1, 2, 1, t0 + 1s, 1000ms, record(seen));
    EXPECT_TRUE(p.full());
    // An epoch asks for 3 in flight per connection.
    p.raise_max_inflight(3);
    EXPECT_EQ(p.max_inflight(), 3u);
    EXPECT_FALSE(p.full());
    const auto second = p.add_transfer(3, 4, 1, t0 + 1s, 1000ms, record(seen));
    p.add_transfer(5, 6, 1, t0 + 1s, 1000ms, record(seen));
    EXPECT_TRUE(p.full());
    // Never lowered: a later epoch asking for fewer limits itself.
    p.raise_max_inflight(2);
    EXPECT_EQ(p.max_inflight(), 3u);
    // The call made before the raise still completes, by its request id.
    EXPECT_TRUE(p.complete(first, CallStatus::Committed, ""));
    EXPECT_TRUE(p.complete(second, CallStatus::ModuleError, "insufficient_funds"));
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].text, "insufficient_funds");
    EXPECT_EQ(p.in_flight(), 1u);
}

}  // namespace
