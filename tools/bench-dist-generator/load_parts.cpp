// Building and opening the load, the same in both modes.
#include <iostream>
#include <string>

#include "benchdist/text/printable.hpp"
#include "generator_tool.hpp"

namespace benchdist::generator_tool {

void log_line(const std::string& id, const std::string& text) {
    // One write, so lines from worker threads (protocol errors) do not mix.
    std::cerr << ("[generator " + text::printable(id) + "] " + text::printable(text) + "\n") << std::flush;
}

void error_line(const std::string& line) { std::cerr << text::printable(line) << std::endl; }

LoadParts make_load_parts(const generator::GeneratorConfig& config) {
    LoadParts parts;
    log_line(config.id, "precomputing " + std::to_string(config.pairs) + " transfer pairs (" +
                            std::string(generator::pair_mode_name(config.pair_mode)) +
                            ", accounts=" + std::to_string(config.accounts) + ")");
    parts.pairs = std::make_shared<generator::TransferPairs>(config.pair_options());
    auto options = config.session_options();
    options.log = [id = config.id](const std::string& text) { log_line(id, text); };
    parts.session = std::make_unique<generator::LoadSession>(std::move(options), parts.pairs);
    return parts;
}

std::optional<int> make_load_parts_or_report(const generator::GeneratorConfig& config, LoadParts& parts) {
    try {
        parts = make_load_parts(config);
        return std::nullopt;
    } catch (const std::invalid_argument& e) {
        std::cerr << "error: --accounts/--alpha/--pairs: " << e.what() << "\nRun with --help for usage." << std::endl;
        return 2;
    } catch (const std::exception& e) {
        error_line(std::string("error: ") + e.what());
        return 1;
    }
}

void open_connections(generator::LoadSession& session, const generator::GeneratorConfig& config) {
    const std::size_t total = config.concurrency;
    const std::size_t step = std::max<std::size_t>(1, total / 10);
    std::size_t next_report = step;
    log_line(config.id, "opening " + std::to_string(total) + " connections to " + session.url() + " (at most " +
                            std::to_string(config.open_parallelism) + " at once, " +
                            std::to_string(session.thread_count()) + " threads, " + std::string(session.io_backend()) +
                            ")");
    session.open_all([&](std::size_t opened, std::size_t all) {
        if (opened >= next_report || opened == all) {
            log_line(config.id, "opened " + std::to_string(opened) + "/" + std::to_string(all));
            while (next_report <= opened) next_report += step;
        }
    });
}

}  // namespace benchdist::generator_tool
