// --io-backend's names: what the flag takes and what the manifest reports.
#include "benchdist/generator/io_backend.hpp"

#include <gtest/gtest.h>

namespace {

namespace gen = benchdist::generator;

TEST(IoBackend, EveryBackendParsesBackFromItsFlag) {
    for (const auto b : {gen::IoBackend::Auto, gen::IoBackend::Uring, gen::IoBackend::Epoll}) {
        EXPECT_EQ(gen::parse_io_backend(gen::io_backend_flag(b)), b) << gen::io_backend_flag(b);
    }
    EXPECT_EQ(gen::io_backend_flag(gen::IoBackend::Uring), "uring");
}

TEST(IoBackend, OtherNamesAreRefused) {
    EXPECT_FALSE(gen::parse_io_backend("io_uring").has_value());
    EXPECT_FALSE(gen::parse_io_backend("").has_value());
    EXPECT_FALSE(gen::parse_io_backend("EPOLL").has_value());
}

}  // namespace
