// parse_source_addresses / validate_source_addresses: what --source-addresses
// accepts (literals of one family, canonicalised, blanks around items
// ignored, an empty list meaning "the kernel chooses") and that every refusal
// names the flag and the offending item.
#include "benchdist/generator/source_addresses.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace benchdist::generator {
namespace {

using Addresses = std::vector<std::string>;

// The message of the std::invalid_argument that parsing `list` throws
// (empty if it did not throw, which the callers' expectations then show).
std::string refusal(const std::string& list) {
    try {
        parse_source_addresses(list);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(SourceAddresses, ParsesIpv4ListInOrder) {
    EXPECT_EQ(parse_source_addresses("127.0.0.2,127.0.0.3,127.0.0.4"),
              (Addresses{"127.0.0.2", "127.0.0.3", "127.0.0.4"}));
    EXPECT_EQ(parse_source_addresses("10.0.0.5"), (Addresses{"10.0.0.5"}));
}

TEST(SourceAddresses, IgnoresBlanksAroundItems) {
    EXPECT_EQ(parse_source_addresses(" 127.0.0.2 ,\t127.0.0.3 "), (Addresses{"127.0.0.2", "127.0.0.3"}));
}

TEST(SourceAddresses, ParsesIpv6AndCanonicalises) {
    EXPECT_EQ(parse_source_addresses("::1"), (Addresses{"::1"}));
    EXPECT_EQ(parse_source_addresses("fd00:0:0:0:0:0:0:2,FD00::3"), (Addresses{"fd00::2", "fd00::3"}));
}

TEST(SourceAddresses, EmptyListLetsTheKernelChoose) {
    EXPECT_TRUE(parse_source_addresses("").empty());
    EXPECT_TRUE(parse_source_addresses("   ").empty());
    EXPECT_TRUE(validate_source_addresses({}).empty());
}

TEST(SourceAddresses, EmptyItemsAreRefused) {
    for (const std::string list : {"127.0.0.2,,127.0.0.3", "127.0.0.2,", ",127.0.0.2", "127.0.0.2, ,127.0.0.3", ","}) {
        const std::string e = refusal(list);
        EXPECT_EQ(e.rfind("--source-addresses " + list + ": has an empty item", 0), 0u) << list << " -> " << e;
    }
}

TEST(SourceAddresses, BadLiteralsAreRefusedByName) {
    for (const std::string item : {"127.0.0.300", "localhost", "10.0.0", "1.2.3.4.5", "fd00::g", "127.0.0.2:80"}) {
        const std::string e = refusal("127.0.0.2," + item);
        EXPECT_EQ(e, "--source-addresses " + item +
                         ": not an IPv4 or IPv6 address (host names are not accepted) -- give IP addresses of "
                         "this host's interfaces, comma-separated (e.g. 127.0.0.2,127.0.0.3 on loopback)")
            << item;
    }
}

TEST(SourceAddresses, MixedFamiliesAreRefused) {
    const std::string e = refusal("127.0.0.2,::1");
    EXPECT_EQ(e.rfind("--source-addresses 127.0.0.2,::1: mixes IPv4 and IPv6 addresses", 0), 0u) << e;
    EXPECT_TRUE(contains(e, "give addresses of one family")) << e;
    EXPECT_THROW(validate_source_addresses({"::2", "10.0.0.1"}), std::invalid_argument);
}

TEST(SourceAddresses, WildcardMulticastAndDuplicatesAreRefused) {
    EXPECT_TRUE(contains(refusal("0.0.0.0"), "--source-addresses 0.0.0.0: the wildcard")) << refusal("0.0.0.0");
    EXPECT_TRUE(contains(refusal("::"), "--source-addresses ::: the wildcard")) << refusal("::");
    EXPECT_TRUE(contains(refusal("224.0.0.1"), "--source-addresses 224.0.0.1: a multicast")) << refusal("224.0.0.1");
    EXPECT_EQ(refusal("127.0.0.2,127.0.0.3,127.0.0.2"), "--source-addresses 127.0.0.2: given twice");
    // Twice in different spellings is still twice.
    EXPECT_EQ(refusal("fd00::2,fd00:0::2"), "--source-addresses fd00:0::2: given twice");
}

TEST(SourceAddresses, ValidateCanonicalisesWhatCodeSets) {
    EXPECT_EQ(validate_source_addresses({" 127.0.0.2", "127.0.0.3\t"}), (Addresses{"127.0.0.2", "127.0.0.3"}));
    EXPECT_EQ(validate_source_addresses({"FD00::0:1"}), (Addresses{"fd00::1"}));
    EXPECT_THROW(validate_source_addresses({"127.0.0.2", ""}), std::invalid_argument);
}

}  // namespace
}  // namespace benchdist::generator
