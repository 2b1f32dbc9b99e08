#include "benchdist/generator/resource_limits.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <limits>
#include <system_error>

namespace benchdist::generator {

std::size_t files_needed(std::size_t connections) {
    if (connections > std::numeric_limits<std::size_t>::max() - kOpenFileMargin) {
        return std::numeric_limits<std::size_t>::max();
    }
    return connections + kOpenFileMargin;
}

std::string file_limit_message(std::size_t needed, std::uint64_t hard) {
    const std::string who = needed > kOpenFileMargin ? "--concurrency " + std::to_string(needed - kOpenFileMargin) +
                                                           " needs about " + std::to_string(needed) + " open files"
                                                     : std::to_string(needed) + " open files are needed";
    return who + ", but the hard limit is " + std::to_string(hard) +
           ": raise it (ulimit -Hn as root, LimitNOFILE= in a systemd unit, nofile in "
           "/etc/security/limits.conf) or spread the connections over more generators";
}

FileLimitResult raise_open_file_limit(std::size_t needed) {
    FileLimitResult r;
    r.needed = needed;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        r.message = "cannot read the open-file limit (getrlimit): " + std::system_category().message(errno);
        return r;
    }
    r.soft_before = limit.rlim_cur;
    r.hard = limit.rlim_max;
    r.soft_after = limit.rlim_cur;
    std::string refused;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        // An unlimited hard limit cannot become the soft one on Linux (the
        // kernel caps descriptors at fs.nr_open): the raise then fails and
        // the soft limit stays, which the report shows.
        if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) refused = std::system_category().message(errno);
        if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) r.soft_after = limit.rlim_cur;
    }
    r.enough = needed <= r.soft_after;
    if (r.enough) return r;
    if (needed > r.hard) {
        r.message = file_limit_message(needed, r.hard);
    } else {
        r.message = std::to_string(needed) +
                    " open files are needed and the hard limit allows them, but the soft "
                    "limit stays at " +
                    std::to_string(r.soft_after) +
                    (refused.empty() ? std::string() : " (raising it failed: " + refused + ")") +
                    ": raise it before starting (ulimit -n " + std::to_string(needed) + ")";
    }
    return r;
}

}  // namespace benchdist::generator
