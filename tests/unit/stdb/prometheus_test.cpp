#include "benchdist/stdb/prometheus.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace benchdist::stdb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kDbA = "c200a81f4e2b7d1e0a5c3f9b8d6e4a2c1b0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d";
const std::string kDbB = "c2001111222233334444555566667777888899990000aaaabbbbccccddddeeee";
const std::string kDbC = "c200ffffeeeeddddccccbbbbaaaa000099998888777766665555444433332222";
const std::string kDbD = "c2009999999999999999999999999999999999999999999999999999999999ab";

std::string realistic_scrape() {
    std::string t;
    t += "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n";
    t += "# TYPE process_cpu_seconds_total counter\n";
    t += "process_cpu_seconds_total 1.5e+06\n";
    t += "# HELP spacetime_num_txns_total The cumulative number of transactions, including both commits and "
         "rollbacks\n";
    t += "# TYPE spacetime_num_txns_total counter\n";
    t += "spacetime_num_txns_total{committed=\"false\",db=\"" + kDbA +
         "\",reducer=\"transfer\",txn_type=\"Reducer\"} 1523\n";
    t += "spacetime_num_txns_total{committed=\"true\",db=\"" + kDbA + "\",reducer=\"seed\",txn_type=\"Reducer\"} 1\n";
    t += "spacetime_num_txns_total{committed=\"true\",db=\"" + kDbA +
         "\",reducer=\"transfer\",txn_type=\"Reducer\"} 619241\n";
    t += "spacetime_num_txns_total{committed=\"true\",db=\"" + kDbA + "\",reducer=\"\",txn_type=\"Sql\"} 3\n";
    t += "spacetime_num_txns_total{committed=\"true\",db=\"" + kDbB +
         "\",reducer=\"transfer\",txn_type=\"Reducer\"} 1000\n";
    t += "spacetime_num_txns_total{committed=\"true\",db=\"" + kDbB + "\",reducer=\"\",txn_type=\"Sql\"} 7\n";
    t += "spacetime_num_txns_total{committed=\"false\",db=\"" + kDbC +
         "\",reducer=\"transfer\",txn_type=\"Reducer\"} 4\n";
    t += "\n";
    t += "# HELP spacetime_txn_elapsed_time_sec The total elapsed (wall) time of a transaction (in seconds)\n";
    t += "# TYPE spacetime_txn_elapsed_time_sec histogram\n";
    const std::string hl = "db=\"" + kDbA + "\",reducer=\"transfer\",txn_type=\"Reducer\"";
    t += "spacetime_txn_elapsed_time_sec_bucket{" + hl + ",le=\"0.0001\"} 12\n";
    t += "spacetime_txn_elapsed_time_sec_bucket{" + hl + ",le=\"0.001\"} 600000\n";
    t += "spacetime_txn_elapsed_time_sec_bucket{" + hl + ",le=\"+Inf\"} 620764\n";
    t += "spacetime_txn_elapsed_time_sec_sum{" + hl + "} 12.5\n";
    t += "spacetime_txn_elapsed_time_sec_count{" + hl + "} 620764\n";
    return t;
}

TEST(PrometheusParse, RealisticScrape) {
    const Scrape s = parse_prometheus_text(realistic_scrape());
    EXPECT_EQ(s.skipped_lines(), 0U);
    ASSERT_EQ(s.samples.size(), 13U);
    EXPECT_EQ(s.type_of("spacetime_num_txns_total"), "counter");
    EXPECT_EQ(s.type_of("spacetime_txn_elapsed_time_sec"), "histogram");
    EXPECT_FALSE(s.type_of("nope").has_value());

    const Sample& cpu = s.samples[0];
    EXPECT_EQ(cpu.name, "process_cpu_seconds_total");
    EXPECT_TRUE(cpu.labels.empty());
    EXPECT_DOUBLE_EQ(cpu.value, 1.5e6);
    EXPECT_EQ(cpu.exact, 1500000U);
    EXPECT_EQ(cpu.line, 3U);

    const Sample& first = s.samples[1];
    EXPECT_EQ(first.name, "spacetime_num_txns_total");
    ASSERT_EQ(first.labels.size(), 4U);
    EXPECT_EQ(first.labels[0], (Label{"committed", "false"}));
    EXPECT_EQ(first.labels[1], (Label{"db", kDbA}));
    EXPECT_EQ(first.label("reducer"), "transfer");
    EXPECT_EQ(first.label("txn_type"), "Reducer");
    EXPECT_FALSE(first.label("le").has_value());
    EXPECT_EQ(first.exact, 1523U);
    EXPECT_FALSE(first.timestamp_ms.has_value());

    const Sample& inf_bucket = s.samples[10];
    EXPECT_EQ(inf_bucket.name, "spacetime_txn_elapsed_time_sec_bucket");
    EXPECT_EQ(inf_bucket.label("le"), "+Inf");
    EXPECT_EQ(inf_bucket.exact, 620764U);
    EXPECT_DOUBLE_EQ(s.samples[11].value, 12.5);
    EXPECT_FALSE(s.samples[11].exact.has_value());
}

TEST(PrometheusParse, CrlfAndBomAndBlankLines) {
    std::string t = "\xEF\xBB\xBF# TYPE m counter\r\n\r\n   \r\nm{a=\"x\"} 5\r\n# just a comment\r\nn 6";
    const Scrape s = parse_prometheus_text(t);
    EXPECT_EQ(s.skipped_lines(), 0U);
    ASSERT_EQ(s.samples.size(), 2U);
    EXPECT_EQ(s.samples[0].label("a"), "x");
    EXPECT_EQ(s.samples[0].exact, 5U);
    EXPECT_EQ(s.samples[0].line, 4U);
    EXPECT_EQ(s.samples[1].name, "n");
    EXPECT_EQ(s.samples[1].exact, 6U);  // last line without a newline
    EXPECT_EQ(s.type_of("m"), "counter");
}

TEST(PrometheusParse, EmptyAndCommentOnlyText) {
    EXPECT_TRUE(parse_prometheus_text("").samples.empty());
    const Scrape s = parse_prometheus_text("\n\n# HELP x y\n#\n# random words\n");
    EXPECT_TRUE(s.samples.empty());
    EXPECT_EQ(s.skipped_lines(), 0U);
}

TEST(PrometheusParse, EscapedLabelValues) {
    const std::string t = R"(m{path="a,b=\"c\"}{",nl="line\nnext",bs="back\\slash",odd="keep\t",empty=""} 1)";
    const Scrape s = parse_prometheus_text(t);
    ASSERT_EQ(s.samples.size(), 1U) << (s.skipped.empty() ? "" : s.skipped[0].reason);
    const Sample& x = s.samples[0];
    EXPECT_EQ(x.label("path"), "a,b=\"c\"}{");
    EXPECT_EQ(x.label("nl"), "line\nnext");
    EXPECT_EQ(x.label("bs"), "back\\slash");
    EXPECT_EQ(x.label("odd"), "keep\\t");  // unknown escapes stay as written
    EXPECT_EQ(x.label("empty"), "");
    EXPECT_EQ(x.exact, 1U);
}

TEST(PrometheusParse, SpacesAroundTokensAndTrailingComma) {
    const Scrape s = parse_prometheus_text("m { a = \"1\" ,\tb=\"2\" , }   7   \nn{a=\"1\",} 8\nk{} 9\n");
    EXPECT_EQ(s.skipped_lines(), 0U);
    ASSERT_EQ(s.samples.size(), 3U);
    EXPECT_EQ(s.samples[0].labels, (LabelSet{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(s.samples[0].exact, 7U);
    EXPECT_EQ(s.samples[1].labels, (LabelSet{{"a", "1"}}));
    EXPECT_TRUE(s.samples[2].labels.empty());
    EXPECT_EQ(s.samples[2].exact, 9U);
}

TEST(PrometheusParse, NumberForms) {
    const Scrape s = parse_prometheus_text(
        "a 1.5e+06\n"
        "b 1.5\n"
        "c 1e-3\n"
        "d 12345678901234567890\n"
        "e 18446744073709551616\n"
        "f 2.50E1\n"
        "g +Inf\n"
        "h -Inf\n"
        "i NaN\n"
        "j -3\n"
        "k 0.000\n"
        "l .5e1\n"
        "m 120e-1\n"
        "n +42\n");
    ASSERT_EQ(s.skipped_lines(), 0U) << s.skipped[0].reason;
    ASSERT_EQ(s.samples.size(), 14U);
    auto at = [&](std::size_t i) -> const Sample& { return s.samples[i]; };
    EXPECT_EQ(at(0).exact, 1500000U);
    EXPECT_FALSE(at(1).exact.has_value());
    EXPECT_DOUBLE_EQ(at(1).value, 1.5);
    EXPECT_DOUBLE_EQ(at(2).value, 0.001);
    EXPECT_FALSE(at(2).exact.has_value());
    EXPECT_EQ(at(3).exact, 12345678901234567890ULL);  // exact beyond 2^53
    EXPECT_FALSE(at(4).exact.has_value());            // 2^64 does not fit
    EXPECT_DOUBLE_EQ(at(4).value, 18446744073709551616.0);
    EXPECT_EQ(at(5).exact, 25U);
    EXPECT_TRUE(std::isinf(at(6).value) && at(6).value > 0);
    EXPECT_TRUE(std::isinf(at(7).value) && at(7).value < 0);
    EXPECT_TRUE(std::isnan(at(8).value));
    EXPECT_FALSE(at(8).exact.has_value());
    EXPECT_DOUBLE_EQ(at(9).value, -3.0);
    EXPECT_FALSE(at(9).exact.has_value());
    EXPECT_EQ(at(10).exact, 0U);
    EXPECT_EQ(at(11).exact, 5U);
    EXPECT_EQ(at(12).exact, 12U);
    EXPECT_EQ(at(13).exact, 42U);
}

TEST(PrometheusParse, Timestamps) {
    const Scrape s = parse_prometheus_text("a{x=\"1\"} 5 1700000000123\nb 6 -20\nc 7 12.5\nd 8 9 10\n");
    ASSERT_EQ(s.samples.size(), 2U);
    EXPECT_EQ(s.samples[0].timestamp_ms, 1700000000123);
    EXPECT_EQ(s.samples[0].exact, 5U);
    EXPECT_EQ(s.samples[1].timestamp_ms, -20);
    ASSERT_EQ(s.skipped_lines(), 2U);
    EXPECT_EQ(s.skipped[0].name, "c");
    EXPECT_THAT(s.skipped[0].reason, HasSubstr("timestamp"));
    EXPECT_EQ(s.skipped[1].name, "d");
    EXPECT_THAT(s.skipped[1].reason, HasSubstr("after the timestamp"));
}

TEST(PrometheusParse, MalformedLinesAreSkippedAndCounted) {
    const std::string t =
        "good 1\n"
        "m{a=\"unterminated} 2\n"  // 2
        "m{a=\"x\" b=\"y\"} 3\n"   // 3 missing comma
        "m{a=\"x\"\n"              // 4 missing }
        "m{a=x} 4\n"               // 5 unquoted
        "m{a=\"1\",a=\"2\"} 5\n"   // 6 duplicate
        "m{1a=\"1\"} 5\n"          // 7 bad label name
        "m{a=\"1\"}\n"             // 8 missing value
        "m{a=\"1\"} abc\n"         // 9 bad value
        "m{a=\"1\"} 0x10\n"        // 10 hex refused
        "9lives 1\n"               // 11 bad metric name
        "bad-name 1\n"             // 12
        "# TYPE\n"                 // 13
        "m{a=\"1\"} 1e999\n"       // 14 out of range
        "also_good{z=\"1\"} 2\n";
    const Scrape s = parse_prometheus_text(t);
    ASSERT_EQ(s.samples.size(), 2U);
    EXPECT_EQ(s.samples[0].name, "good");
    EXPECT_EQ(s.samples[1].name, "also_good");
    ASSERT_EQ(s.skipped_lines(), 13U);
    std::vector<std::size_t> lines;
    for (const SkippedLine& l : s.skipped) lines.push_back(l.line);
    EXPECT_EQ(lines, (std::vector<std::size_t>{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
    EXPECT_EQ(s.skipped[0].name, "m");
    EXPECT_THAT(s.skipped[0].reason, HasSubstr("unterminated"));
    EXPECT_THAT(s.skipped[1].reason, HasSubstr("expected ',' or '}'"));
    EXPECT_THAT(s.skipped[4].reason, HasSubstr("duplicate label a"));
    EXPECT_EQ(s.skipped[9].name, "");
    EXPECT_EQ(s.skipped[10].name, "bad");
    EXPECT_EQ(s.skipped[1].excerpt, "m{a=\"x\" b=\"y\"} 3");
}

TEST(PrometheusParse, LongMalformedLineExcerptIsCut) {
    const std::string t = "m{a=\"" + std::string(500, 'x');
    const Scrape s = parse_prometheus_text(t);
    ASSERT_EQ(s.skipped_lines(), 1U);
    EXPECT_LT(s.skipped[0].excerpt.size(), 130U);
    EXPECT_THAT(s.skipped[0].excerpt, testing::EndsWith("..."));
}

// ---------------------------------------------------------------- queries

TEST(PrometheusQuery, SelectsOneDatabase) {
    const Scrape s = parse_prometheus_text(realistic_scrape());
    const CounterResult a = find_counter(s, committed_transfers_query(kDbA));
    ASSERT_TRUE(a.ok()) << a.message;
    EXPECT_EQ(a.reading.exact, 619241U);
    EXPECT_DOUBLE_EQ(a.reading.value, 619241.0);
    EXPECT_EQ(a.reading.series_matched, 1U);
    EXPECT_TRUE(a.message.empty());
    EXPECT_TRUE(a.db_seen);

    const CounterResult b = find_counter(s, committed_transfers_query(kDbB));
    ASSERT_TRUE(b.ok()) << b.message;
    EXPECT_EQ(b.value().exact, 1000U);
}

TEST(PrometheusQuery, DbComparisonIgnoresCaseAndPrefix) {
    const Scrape s = parse_prometheus_text(realistic_scrape());
    std::string upper = kDbA;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const std::string& db : {upper, "0x" + kDbA, "0X" + upper}) {
        const CounterResult r = find_counter(s, committed_transfers_query(db));
        ASSERT_TRUE(r.ok()) << db << ": " << r.message;
        EXPECT_EQ(r.reading.exact, 619241U);
    }
    EXPECT_TRUE(same_db_identity("0xAbC", "abc"));
    EXPECT_FALSE(same_db_identity("abc", "abcd"));
}

TEST(PrometheusQuery, LabelOrderDoesNotMatter) {
    const std::string db = "db=\"" + kDbA + "\"";
    const std::vector<std::string> orders = {
        "{committed=\"true\"," + db + ",reducer=\"transfer\",txn_type=\"Reducer\"}",
        "{txn_type=\"Reducer\",reducer=\"transfer\"," + db + ",committed=\"true\"}",
        "{" + db + ",txn_type=\"Reducer\",committed=\"true\",reducer=\"transfer\"}",
        "{reducer=\"transfer\",committed=\"true\",txn_type=\"Reducer\"," + db + "}",
    };
    for (const std::string& labels : orders) {
        const Scrape s = parse_prometheus_text("spacetime_num_txns_total" + labels + " 42\n");
        const CounterResult r = find_counter(s, committed_transfers_query(kDbA));
        ASSERT_TRUE(r.ok()) << labels << ": " << r.message;
        EXPECT_EQ(r.reading.exact, 42U);
    }
}

TEST(PrometheusQuery, SumsAllMatchingSeries) {
    const Scrape s = parse_prometheus_text(realistic_scrape());
    CounterQuery q = committed_transfers_query(kDbA);
    q.db.reset();
    q.select = CounterSelect::Sum;
    const CounterResult r = find_counter(s, q);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.reading.series_matched, 2U);
    EXPECT_EQ(r.reading.exact, 620241U);
    EXPECT_DOUBLE_EQ(r.reading.value, 620241.0);

    // Sum restricted to one database: every committed transaction of db A.
    CounterQuery all_a;
    all_a.name = std::string(kNumTxnsMetric);
    all_a.labels = {{"committed", "true"}};
    all_a.db = kDbA;
    all_a.select = CounterSelect::Sum;
    const CounterResult ra = find_counter(s, all_a);
    ASSERT_TRUE(ra.ok()) << ra.message;
    EXPECT_EQ(ra.reading.series_matched, 3U);
    EXPECT_EQ(ra.reading.exact, 619245U);
}

TEST(PrometheusQuery, ExactlyOneRejectsSeveralMatches) {
    const Scrape s = parse_prometheus_text(realistic_scrape());
    CounterQuery q = committed_transfers_query(kDbA);
    q.db.reset();
    const CounterResult r = find_counter(s, q);
    EXPECT_EQ(r.status, CounterStatus::Ambiguous);
    EXPECT_EQ(r.reading.series_matched, 2U);
    EXPECT_THAT(r.message, HasSubstr("2 series match spacetime_num_txns_total{committed=\"true\",reducer=\"transfer\","
                                     "txn_type=\"Reducer\"} but exactly one was expected"));
    EXPECT_THAT(r.message, HasSubstr(kDbA));
    EXPECT_THAT(r.message, HasSubstr(kDbB));
}

TEST(PrometheusQuery, NotFoundListsNearMissesClosestFirst) {
    const Scrape s = parse_prometheus_text(realistic_scrape());
    const CounterResult r = find_counter(s, committed_transfers_query(kDbC));
    EXPECT_EQ(r.status, CounterStatus::NoMatchingSeries);
    EXPECT_TRUE(r.db_seen);
    EXPECT_EQ(r.near_miss_count, 7U);
    ASSERT_EQ(r.near_misses.size(), kMaxNearMisses);
    // The committed="false" series of the same db differs in one label only.
    EXPECT_EQ(r.near_misses[0],
              (LabelSet{{"committed", "false"}, {"db", kDbC}, {"reducer", "transfer"}, {"txn_type", "Reducer"}}));
    const std::string wanted = "no series spacetime_num_txns_total{committed=\"true\",db=\"" + kDbC +
                               "\",reducer=\"transfer\",txn_type=\"Reducer\"}; 7 series of that name have other "
                               "labels: {committed=\"false\",db=\"" +
                               kDbC + "\"";
    EXPECT_THAT(r.message, HasSubstr(wanted));
    EXPECT_THAT(r.message, HasSubstr("(and 2 more)"));
    EXPECT_THAT(r.message, Not(HasSubstr("none of them has db")));
    try {
        (void)r.value();
        FAIL() << "value() must throw";
    } catch (const MetricsError& e) {
        EXPECT_EQ(e.status(), CounterStatus::NoMatchingSeries);
        EXPECT_EQ(std::string(e.what()), r.message);
    }
}

TEST(PrometheusQuery, UnknownDatabaseSaysSo) {
    const Scrape s = parse_prometheus_text(realistic_scrape());
    const CounterResult r = find_counter(s, committed_transfers_query(kDbD));
    EXPECT_EQ(r.status, CounterStatus::NoMatchingSeries);
    EXPECT_FALSE(r.db_seen);
    EXPECT_THAT(r.message, HasSubstr("none of them has db=\"" + kDbD + "\""));
    EXPECT_THAT(r.message, Not(HasSubstr("not the database name")));

    const CounterResult by_name = find_counter(s, committed_transfers_query("keynote-bench"));
    EXPECT_EQ(by_name.status, CounterStatus::NoMatchingSeries);
    EXPECT_THAT(by_name.message, HasSubstr("not the database name"));
}

TEST(PrometheusQuery, NameAbsentIsDistinct) {
    const Scrape s = parse_prometheus_text("# TYPE other counter\nother 1\nbroken{ 2\n");
    const CounterResult r = find_counter(s, committed_transfers_query(kDbA));
    EXPECT_EQ(r.status, CounterStatus::NameAbsent);
    EXPECT_EQ(r.near_miss_count, 0U);
    EXPECT_EQ(r.message,
              "no metric named spacetime_num_txns_total in the scrape (1 sample of other names, 1 malformed line "
              "skipped)");
    EXPECT_EQ(counter_status_name(r.status), "name_absent");

    const Scrape declared = parse_prometheus_text("# TYPE spacetime_num_txns_total counter\n");
    const CounterResult d = find_counter(declared, committed_transfers_query(kDbA));
    EXPECT_EQ(d.status, CounterStatus::NameAbsent);
    EXPECT_THAT(d.message, HasSubstr("declared by # TYPE but has no series yet"));
}

TEST(PrometheusQuery, MalformedLineOfTheNameIsReported) {
    const std::string good_other = "spacetime_num_txns_total{committed=\"true\",db=\"" + kDbB +
                                   "\",reducer=\"transfer\",txn_type=\"Reducer\"} 10\n";
    const std::string broken = "spacetime_num_txns_total{committed=\"true\",db=\"" + kDbA +
                               "\",reducer=\"transfer\",txn_type=\"Reducer\" 10\n";
    const Scrape s = parse_prometheus_text(good_other + broken);
    ASSERT_EQ(s.skipped_lines(), 1U);
    const CounterResult r = find_counter(s, committed_transfers_query(kDbA));
    EXPECT_EQ(r.status, CounterStatus::MalformedSeries);
    EXPECT_THAT(r.message, HasSubstr("no well-formed series spacetime_num_txns_total{committed=\"true\""));
    EXPECT_THAT(r.message, HasSubstr("1 line named spacetime_num_txns_total could not be parsed: [line 2: "));
    EXPECT_THAT(r.message, HasSubstr("1 series of that name has other labels"));

    // When the series itself is fine, an unrelated malformed line of the same name does not matter.
    const Scrape ok = parse_prometheus_text(good_other + broken);
    const CounterResult rb = find_counter(ok, committed_transfers_query(kDbB));
    ASSERT_TRUE(rb.ok()) << rb.message;
    EXPECT_EQ(rb.reading.exact, 10U);
}

TEST(PrometheusQuery, MissingLabelMatchesEmptyValue) {
    const Scrape s = parse_prometheus_text("m{a=\"1\"} 4\n");
    CounterQuery q;
    q.name = "m";
    q.labels = {{"a", "1"}, {"reducer", ""}};
    const CounterResult r = find_counter(s, q);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.reading.exact, 4U);
}

TEST(PrometheusQuery, BadCounterValues) {
    struct Case {
        std::string value;
        std::string expect;
    };
    const std::vector<Case> cases = {
        {"NaN", "value NaN"},
        {"-1", "negative value -1"},
        {"+Inf", "infinite value +Inf"},
        {"1.5", "non-integral value 1.5 where a whole count was expected"},
    };
    for (const Case& c : cases) {
        const Scrape s = parse_prometheus_text("m{a=\"1\"} " + c.value + "\n");
        CounterQuery q;
        q.name = "m";
        q.labels = {{"a", "1"}};
        const CounterResult r = find_counter(s, q);
        EXPECT_EQ(r.status, CounterStatus::BadValue) << c.value;
        EXPECT_THAT(r.message, HasSubstr("m{a=\"1\"} (line 1) has " + c.expect)) << c.value;
    }
    const Scrape s = parse_prometheus_text("m 1.5\n");
    CounterQuery seconds;
    seconds.name = "m";
    seconds.require_integer = false;
    const CounterResult r = find_counter(s, seconds);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_DOUBLE_EQ(r.reading.value, 1.5);
    EXPECT_FALSE(r.reading.exact.has_value());
}

TEST(PrometheusQuery, SumLosesExactnessOnOverflowOnly) {
    const Scrape s = parse_prometheus_text("m{i=\"1\"} 18446744073709551615\nm{i=\"2\"} 1\n");
    CounterQuery q;
    q.name = "m";
    q.select = CounterSelect::Sum;
    const CounterResult r = find_counter(s, q);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.reading.series_matched, 2U);
    EXPECT_FALSE(r.reading.exact.has_value());
    EXPECT_GT(r.reading.value, 1.8e19);

    const Scrape big = parse_prometheus_text("m{i=\"1\"} 9007199254740993\nm{i=\"2\"} 1\n");
    const CounterResult rb = find_counter(big, q);
    EXPECT_EQ(rb.reading.exact, 9007199254740994U);  // exact where the double is not
}

// ---------------------------------------------------------------- writing

TEST(PrometheusWrite, FormatsLabelsAndValues) {
    EXPECT_EQ(format_labels({}), "{}");
    EXPECT_EQ(format_labels({{"a", "x"}, {"b", "q\"\\\n"}}), "{a=\"x\",b=\"q\\\"\\\\\\n\"}");
    EXPECT_EQ(format_series("m", {}), "m");
    EXPECT_EQ(format_series("m", {{"a", "1"}}), "m{a=\"1\"}");
    EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    EXPECT_EQ(format_value(619241.0), "619241");
    EXPECT_EQ(format_value(-3.0), "-3");
    EXPECT_EQ(format_value(0.25), "0.25");
    EXPECT_EQ(format_value(0.00005), "0.00005");  // a bucket bound, as a query writes it
    EXPECT_EQ(format_value(1234.5), "1234.5");
    EXPECT_EQ(format_value(1e-12), "1e-12");
    EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(format_value(std::nan("")), "NaN");
    EXPECT_DOUBLE_EQ(parse_prometheus_text("m " + format_value(1e300) + "\n").samples.at(0).value, 1e300);
}

TEST(PrometheusWrite, RoundTripThroughParser) {
    MetricsWriter w;
    w.help("spacetime_num_txns_total", "The cumulative number of transactions\nwith a \\ backslash");
    w.type("spacetime_num_txns_total", "counter");
    const LabelSet tricky = {{"committed", "true"},
                             {"db", kDbA},
                             {"reducer", "trans,fer \"x\" {y}\\z\n"},
                             {"txn_type", "Reducer"}};
    w.sample("spacetime_num_txns_total", tricky, 18446744073709551615ULL);
    w.sample("plain_total", {}, 3);
    w.sample_double("ratio", {{"k", "v"}}, 0.1);
    w.type("lat_sec", "histogram");
    const std::vector<HistogramBucket> buckets = {{0.001, 5}, {0.01, 9}, {0.1, 12}};
    w.histogram("lat_sec", {{"db", kDbA}}, buckets, 0.42, 13);

    const std::string text = w.text();
    EXPECT_THAT(text, HasSubstr("# HELP spacetime_num_txns_total The cumulative number of transactions\\nwith a "
                                "\\\\ backslash\n"));
    EXPECT_THAT(text, HasSubstr("lat_sec_bucket{db=\"" + kDbA + "\",le=\"+Inf\"} 13\n"));
    EXPECT_THAT(text, HasSubstr("plain_total 3\n"));

    const Scrape s = parse_prometheus_text(text);
    EXPECT_EQ(s.skipped_lines(), 0U);
    ASSERT_EQ(s.samples.size(), 9U);
    EXPECT_EQ(s.samples[0].labels, tricky);
    EXPECT_EQ(s.samples[0].exact, 18446744073709551615ULL);
    EXPECT_EQ(s.samples[1].name, "plain_total");
    EXPECT_DOUBLE_EQ(s.samples[2].value, 0.1);
    EXPECT_EQ(s.samples[3].labels, (LabelSet{{"db", kDbA}, {"le", "0.001"}}));
    EXPECT_EQ(s.samples[3].exact, 5U);
    EXPECT_EQ(s.samples[5].label("le"), "0.1");
    EXPECT_EQ(s.samples[6].label("le"), "+Inf");
    EXPECT_EQ(s.samples[6].exact, 13U);
    EXPECT_EQ(s.samples[7].name, "lat_sec_sum");
    EXPECT_DOUBLE_EQ(s.samples[7].value, 0.42);
    EXPECT_EQ(s.samples[8].name, "lat_sec_count");
    EXPECT_EQ(s.samples[8].exact, 13U);
    EXPECT_EQ(s.type_of("lat_sec"), "histogram");

    CounterQuery q;
    q.name = "spacetime_num_txns_total";
    q.labels = {{"reducer", "trans,fer \"x\" {y}\\z\n"}};
    q.db = kDbA;
    const CounterResult r = find_counter(s, q);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.reading.exact, 18446744073709551615ULL);

    MetricsWriter moved;
    moved.sample("x", {}, 1);
    EXPECT_EQ(moved.take(), "x 1\n");
}

TEST(PrometheusParse, OneMegabyteScrape) {
    // Many databases and reducers, as a busy shared server would report.
    MetricsWriter w;
    w.help(kNumTxnsMetric, "The cumulative number of transactions, including both commits and rollbacks");
    w.type(kNumTxnsMetric, "counter");
    std::size_t written = 0;
    std::string target_db;
    while (w.text().size() < (1U << 20)) {
        char db[65];
        std::snprintf(db, sizeof db, "%064zx", written * 7919);
        if (written == 4000) target_db = db;
        w.sample(kNumTxnsMetric,
                 {{"committed", written % 3 == 0 ? "false" : "true"},
                  {"db", db},
                  {"reducer", "transfer"},
                  {"txn_type", "Reducer"}},
                 written * 13);
        ++written;
    }
    ASSERT_GT(written, 4000U);
    const std::string text = w.take();
    const auto start = std::chrono::steady_clock::now();
    const Scrape s = parse_prometheus_text(text);
    const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
    RecordProperty("parse_ms", std::to_string(elapsed.count()));
    std::printf("parsed %zu bytes, %zu samples in %.2f ms\n", text.size(), s.samples.size(), elapsed.count());
    EXPECT_EQ(s.samples.size(), written);
    EXPECT_EQ(s.skipped_lines(), 0U);
    const CounterResult r = find_counter(s, committed_transfers_query(target_db));
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.reading.exact, 4000U * 13U);
}

}  // namespace
}  // namespace benchdist::stdb
