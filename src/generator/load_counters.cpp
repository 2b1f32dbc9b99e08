#include "benchdist/generator/load_counters.hpp"

namespace benchdist::generator {

void LoadCounters::combine(const LoadCounters& other) {
    attempted += other.attempted;
    committed += other.committed;
    module_errors += other.module_errors;
    internal_errors += other.internal_errors;
    timeouts += other.timeouts;
    disconnects += other.disconnects;
    skipped_same_account += other.skipped_same_account;
    reopened += other.reopened;
    reopen_failures += other.reopen_failures;
    protocol_errors.combine(other.protocol_errors);
    for (const auto& [message, count] : other.module_errors_by_message) module_errors_by_message[message] += count;
}

control::ReportCounters report_counters(const LoadCounters& c) {
    control::ReportCounters r;
    r.attempted = c.attempted;
    r.committed = c.committed;
    r.errors = c.errors();
    r.module_errors = c.module_errors;
    r.internal_errors = c.internal_errors;
    r.timeouts = c.timeouts;
    r.disconnects = c.disconnects;
    r.reopened = c.reopened;
    r.reopen_failures = c.reopen_failures;
    r.protocol_errors = c.protocol_errors.total();
    r.protocol_errors_by_kind = c.protocol_errors.by_name();
    return r;
}

}  // namespace benchdist::generator
