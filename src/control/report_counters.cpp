#include "benchdist/control/report_counters.hpp"

namespace benchdist::control {

namespace {

bool is_count(const Json& v) { return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0); }

std::uint64_t count_at(const Json& counters, const char* key) {
    const auto it = counters.find(key);
    if (it == counters.end() || !is_count(*it)) return 0;
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
                {"reopenFailures", c.reopen_failures},
                {"protocolErrors", c.protocol_errors},
                {"protocolErrorsByKind", Json(c.protocol_errors_by_kind)}};
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
    c.protocol_errors = count_at(counters, "protocolErrors");
    if (const auto it = counters.find("protocolErrorsByKind"); it != counters.end() && it->is_object()) {
        for (const auto& [kind, n] : it->items()) {
            if (is_count(n)) c.protocol_errors_by_kind.emplace(kind, n.get<std::uint64_t>());
        }
    }
    return c;
}

}  // namespace benchdist::control
