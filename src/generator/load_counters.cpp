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
    for (const auto& [message, count] : other.module_errors_by_message) module_errors_by_message[message] += count;
}

}  // namespace benchdist::generator
