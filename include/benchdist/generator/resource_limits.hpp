// Resource limits: the open-file limit a generator needs for its
// connections. Every connection is a socket, and Linux's default soft limit
// (often 1024) stops a generator long before its memory or CPU would; the
// hard limit is usually far higher and any process may raise its own soft
// limit up to it. So the generator raises the soft limit to the hard one at
// start, and when even the hard limit is too low for --concurrency it says
// so up front, with what to change, instead of failing mid-open with
// "Too many open files".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace benchdist::generator {

// Descriptors a generator holds besides its connections: stdin/out/err; per
// worker thread an io_context's epoll, eventfd and timerfd (3 each, 16
// threads = 48); the coordinator client's HTTP connection, the resolver,
// log and result files; and a connection being replaced whose old socket
// is still closing. 64 covers these on the machines we run on; the soft
// limit goes to the hard one anyway, so the margin only decides whether to
// warn.
inline constexpr std::size_t kOpenFileMargin = 64;

// Open files that `connections` connections need: connections + kOpenFileMargin.
std::size_t files_needed(std::size_t connections);

struct FileLimitResult {
    std::size_t needed = 0;
    std::uint64_t soft_before = 0;
    std::uint64_t soft_after = 0;
    std::uint64_t hard = 0;
    bool enough = false;  // needed <= soft_after
    // Empty when enough; else what to tell the operator (file_limit_message).
    std::string message;
};

// Raises the soft RLIMIT_NOFILE to the hard limit (never lowers it; a
// refusal of the raise leaves it as it was) and reports the limits before
// and after and whether `needed` (normally files_needed(concurrency)) fits.
FileLimitResult raise_open_file_limit(std::size_t needed);

// "--concurrency 50000 needs about 50064 open files, but the hard limit is
// 1024: raise it (ulimit -Hn as root, ...) or spread the connections over
// more generators". `needed` is taken as files_needed(concurrency) to name
// the concurrency; a need below the margin is described without it.
std::string file_limit_message(std::size_t needed, std::uint64_t hard);

}  // namespace benchdist::generator
