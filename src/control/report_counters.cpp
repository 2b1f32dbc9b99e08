#include "benchdist/control/report_counters.hpp"

namespace benchdist::control {

namespace {

std::uint64_t count_at(const Json& counters, const char* key) {
    const auto it = counters.find(key);
    if (it == counters.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) return 0;
    return it->get<std::uint64_t>();
}

}  // namespace

Json to_json(const ReportCounters& c) {
    return Json{{"attempted", c.attempted},
                {"committed", c.committed},
                {"errors", c.errors},
                {"moduleErrors", c.module_errors},
                {"internalErrors", c.internal_errors},
                {"timeouts", c.timeouts},
                {"disconnects", c.disconnects},
                {"reopened", c.reopened},
                {"reopenFailures", c.reopen_failures}};
}

ReportCounters report_counters_from_json(const Json& counters) {
    ReportCounters c;
    if (!counters.is_object()) return c;
    c.attempted = count_at(counters, "attempted");
    c.committed = count_at(counters, "committed");
    c.errors = count_at(counters, "errors");
    c.module_errors = count_at(counters, "moduleErrors");
    c.internal_errors = count_at(counters, "internalErrors");
    c.timeouts = count_at(counters, "timeouts");
    c.disconnects = count_at(counters, "disconnects");
    c.reopened = count_at(counters, "reopened");
    c.reopen_failures = count_at(counters, "reopenFailures");
    return c;
}

}  // namespace benchdist::control
