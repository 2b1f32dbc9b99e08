#include "generator/silence_watch.hpp"

#include <gtest/gtest.h>

using benchdist::generator::SilenceWatch;
using Verdict = SilenceWatch::Verdict;

TEST(SilenceWatch, APeerHeardBetweenChecksIsAlive) {
    SilenceWatch w;
    for (int i = 0; i < 5; ++i) {
        w.heard();
        EXPECT_EQ(w.check(), Verdict::Alive);
    }
}

TEST(SilenceWatch, OneSilentCheckPingsTheSecondGivesUp) {
    SilenceWatch w;
    w.heard();
    EXPECT_EQ(w.check(), Verdict::Alive);
    EXPECT_EQ(w.check(), Verdict::SendPing);
    EXPECT_EQ(w.check(), Verdict::Silent);
}

TEST(SilenceWatch, AnAnsweredPingStartsTheCountAgain) {
    SilenceWatch w;
    EXPECT_EQ(w.check(), Verdict::SendPing);
    w.heard();  // the pong
    EXPECT_EQ(w.check(), Verdict::Alive);
    EXPECT_EQ(w.check(), Verdict::SendPing);
    w.heard();
    EXPECT_EQ(w.check(), Verdict::Alive);
}

TEST(SilenceWatch, ManyFramesBetweenChecksCountOnce) {
    SilenceWatch w;
    for (int i = 0; i < 1000; ++i) w.heard();
    EXPECT_EQ(w.check(), Verdict::Alive);
    EXPECT_EQ(w.check(), Verdict::SendPing);
}
