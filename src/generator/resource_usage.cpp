#include "benchdist/generator/resource_usage.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace benchdist::generator {

namespace {

std::uint64_t to_us(const timeval& t) {
    return static_cast<std::uint64_t>(t.tv_sec) * 1000000u + static_cast<std::uint64_t>(t.tv_usec);
}

// statm's second field is resident pages; /proc/self/status would say the
// same in kB but costs a parse of thirty lines.
std::uint64_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size_pages = 0;
    std::uint64_t resident_pages = 0;
    if (!(statm >> size_pages >> resident_pages)) return 0;
    const long page = ::sysconf(_SC_PAGESIZE);
    return resident_pages * static_cast<std::uint64_t>(page > 0 ? page : 4096);
}

std::uint64_t minus_or_zero(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; }

}  // namespace

ResourceSnapshot take_resource_snapshot() {
    ResourceSnapshot s;
    rusage usage{};
    if (::getrusage(RUSAGE_SELF, &usage) == 0) {
        s.cpu_user_us = to_us(usage.ru_utime);
        s.cpu_system_us = to_us(usage.ru_stime);
        // Linux reports ru_maxrss in KiB.
        s.max_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024u;
    }
    s.rss_bytes = resident_bytes();
    s.taken_at = std::chrono::steady_clock::now();
    return s;
}

ResourceDelta diff(const ResourceSnapshot& before, const ResourceSnapshot& after) {
    ResourceDelta d;
    d.cpu_user_us = minus_or_zero(after.cpu_user_us, before.cpu_user_us);
    d.cpu_system_us = minus_or_zero(after.cpu_system_us, before.cpu_system_us);
    d.cpu_us = d.cpu_user_us + d.cpu_system_us;
    const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(after.taken_at - before.taken_at).count();
    d.wall_us = wall > 0 ? static_cast<std::uint64_t>(wall) : 0;
    d.rss_growth_bytes = static_cast<std::int64_t>(after.rss_bytes) - static_cast<std::int64_t>(before.rss_bytes);
    d.max_rss_bytes = after.max_rss_bytes;
    return d;
}

// /proc/PID/stat fields 14 and 15, in clock ticks.
std::optional<std::uint64_t> process_cpu_us(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name (field 2) is in parentheses and may contain spaces.
    const auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 > text.size()) return std::nullopt;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    std::uint64_t utime = 0;
    std::uint64_t stime = 0;
    // After ')' come field 3 (state) onwards: utime is the 12th of those, stime the 13th.
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    if (!fields) return std::nullopt;
    const long ticks = sysconf(_SC_CLK_TCK);
    return (utime + stime) * 1'000'000ull / static_cast<std::uint64_t>(ticks > 0 ? ticks : 100);
}

}  // namespace benchdist::generator
