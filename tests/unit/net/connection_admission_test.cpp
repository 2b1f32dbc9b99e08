// The HTTP server's admission policy as pure bookkeeping: pending
// connections never take an admitted slot, a newcomer over a pending cap
// evicts the oldest (of its own source first) instead of being refused, and
// admission fails only when the admitted slots are all taken.
#include "net/connection_admission.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using benchdist::net::AdmissionLimits;
using benchdist::net::ConnectionAdmission;
using benchdist::net::source_key;
using Admit = ConnectionAdmission::Admit;
using Ids = std::vector<ConnectionAdmission::Id>;

TEST(ConnectionAdmission, PendingConnectionsTakeNoAdmittedSlotAndTheOldestMakeRoom) {
    ConnectionAdmission a({.max_admitted = 2, .max_pending = 4, .max_pending_per_source = 0});
    Ids ids, evicted;
    for (int i = 0; i < 10; ++i) {
        const auto arrival = a.arrive("10.0.0.1");
        ids.push_back(arrival.id);
        evicted.insert(evicted.end(), arrival.evict.begin(), arrival.evict.end());
    }
    // Six over the cap of four: the six oldest went, in arrival order.
    EXPECT_EQ(evicted, Ids(ids.begin(), ids.begin() + 6));
    EXPECT_EQ(a.pending(), 4u);
    EXPECT_EQ(a.admitted(), 0u);
    EXPECT_EQ(a.evicted_total(), 6u);
    // Both admitted slots are still free for whoever proves itself.
    EXPECT_EQ(a.admit(ids[9]), Admit::Admitted);
    EXPECT_EQ(a.admit(ids[8]), Admit::Admitted);
    EXPECT_EQ(a.admitted(), 2u);
    EXPECT_EQ(a.pending(), 2u);
    // An evicted connection that sends its head after all is gone.
    EXPECT_EQ(a.admit(ids[0]), Admit::Gone);
}

TEST(ConnectionAdmission, ANewcomerOverItsSourcesCapEvictsThatSourcesOldestOnly) {
    ConnectionAdmission a({.max_admitted = 10, .max_pending = 100, .max_pending_per_source = 2});
    const auto a1 = a.arrive("10.0.0.1").id;
    const auto b1 = a.arrive("10.0.0.2").id;
    const auto a2 = a.arrive("10.0.0.1").id;
    const auto a3 = a.arrive("10.0.0.1");
    EXPECT_EQ(a3.evict, Ids{a1});
    EXPECT_TRUE(a.is_pending(b1));  // older, but another source
    EXPECT_TRUE(a.is_pending(a2));
    EXPECT_EQ(a.pending(), 3u);
    // Admitting one frees its source's share.
    EXPECT_EQ(a.admit(a2), Admit::Admitted);
    EXPECT_TRUE(a.arrive("10.0.0.1").evict.empty());
}

TEST(ConnectionAdmission, OverTheTotalCapTheOldestOfAnySourceGoes) {
    ConnectionAdmission a({.max_admitted = 10, .max_pending = 3, .max_pending_per_source = 2});
    const auto x = a.arrive("10.0.0.1").id;
    a.arrive("10.0.0.2");
    a.arrive("10.0.0.3");
    EXPECT_EQ(a.arrive("10.0.0.4").evict, Ids{x});
    EXPECT_EQ(a.pending(), 3u);
}

TEST(ConnectionAdmission, AdmissionFailsOnlyWhenEveryAdmittedSlotIsTaken) {
    ConnectionAdmission a({.max_admitted = 1, .max_pending = 8, .max_pending_per_source = 0});
    const auto first = a.arrive("10.0.0.1").id;
    const auto second = a.arrive("10.0.0.1").id;
    EXPECT_EQ(a.admit(first), Admit::Admitted);
    EXPECT_EQ(a.admit(first), Admit::Admitted);  // again: no second slot
    EXPECT_EQ(a.admit(second), Admit::Full);
    EXPECT_TRUE(a.is_pending(second));  // answered 503; it leaves when it closes
    a.leave(first);
    EXPECT_EQ(a.admitted(), 0u);
    EXPECT_EQ(a.admit(second), Admit::Admitted);
}

TEST(ConnectionAdmission, LeavingFreesWhateverWasHeldAndUnknownIdsAreIgnored) {
    ConnectionAdmission a({.max_admitted = 4, .max_pending = 4, .max_pending_per_source = 1});
    const auto p = a.arrive("10.0.0.1").id;
    const auto q = a.arrive("10.0.0.2").id;
    ASSERT_EQ(a.admit(q), Admit::Admitted);
    a.leave(p);
    a.leave(q);
    a.leave(12345);
    EXPECT_EQ(a.pending(), 0u);
    EXPECT_EQ(a.admitted(), 0u);
    // p's source has room again: no eviction.
    EXPECT_TRUE(a.arrive("10.0.0.1").evict.empty());
    EXPECT_EQ(a.evicted_total(), 0u);
}

TEST(SourceKey, GroupsAnIpv6HostsSlash64AndUnmapsIpv4) {
    EXPECT_EQ(source_key("192.0.2.7"), "192.0.2.7");
    EXPECT_EQ(source_key("::ffff:192.0.2.7"), "192.0.2.7");
    EXPECT_EQ(source_key("2001:db8:1:2::1"), source_key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    EXPECT_NE(source_key("2001:db8:1:2::1"), source_key("2001:db8:1:3::1"));
    EXPECT_EQ(source_key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
    EXPECT_EQ(source_key("not an address"), "not an address");
}

}  // namespace
