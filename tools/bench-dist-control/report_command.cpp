// report and compare: read result and campaign files (report component),
// write a report or print the differences. No coordinator involved.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "benchdist/control/protocol.hpp"
#include "benchdist/control/version.hpp"
#include "benchdist/report/compare.hpp"
#include "benchdist/report/load.hpp"
#include "benchdist/report/render.hpp"
#include "benchdist/text/printable.hpp"
#include "campaign_session.hpp"
#include "commands.hpp"

namespace benchdist::control_tool {

namespace rp = benchdist::report;
namespace fs = std::filesystem;

namespace {

// Written next to its final name and renamed over it, so a reader (a
// browser reloading the page) never sees half a report.
void write_file(const std::string& path, const std::string& text) {
    const auto temp = path + ".tmp";
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        if (!out)
            throw rp::ReportError("cannot write " + path + ": " + std::strerror(errno) +
                                  " (does its directory exist and is it writable?)");
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        out.close();
        if (!out) {
            std::error_code ignored;
            fs::remove(temp, ignored);
            throw rp::ReportError("cannot write " + path + ": " + std::strerror(errno));
        }
    }
    std::error_code ec;
    fs::rename(temp, path, ec);
    if (ec) {
        std::error_code ignored;
        fs::remove(temp, ignored);
        throw rp::ReportError("cannot write " + path + ": " + ec.message());
    }
}

std::string default_out(const std::string& format) {
    if (format == "csv") return "report.csv";
    if (format == "markdown") return "report.md";
    return "report.html";
}

}  // namespace

int run_report(const ReportArgs& args) {
    const std::vector<std::string> inputs =
        args.inputs.empty() ? std::vector<std::string>{"runs/distributed"} : args.inputs;
    const auto out = args.out.empty() ? default_out(args.format) : args.out;
    try {
        const auto report = rp::load_report(inputs);
        std::string text;
        if (args.format == "csv")
            text = rp::render_csv(report);
        else if (args.format == "markdown")
            text = rp::render_markdown(report);
        else
            text = rp::render_html(report, {.generated_at = now_iso8601(),
                                            .tool_version = std::string(control::tool_version()),
                                            .inputs = inputs});
        for (const auto& note : report.notes) std::cerr << "note: " << text::printable(note) << "\n";
        if (out == "-") {
            std::cout << text << std::flush;
            return 0;
        }
        write_file(out, text);
        std::cout << "wrote " << text::printable(out) << " (" << args.format << ", " << report.epochs.size()
                  << (report.epochs.size() == 1 ? " epoch" : " epochs") << ", " << report.campaigns.size()
                  << (report.campaigns.size() == 1 ? " campaign" : " campaigns") << ", " << text.size() << " bytes)\n";
        return 0;
    } catch (const rp::ReportError& e) {
        std::cerr << "bench-dist-control report: " << text::printable(e.what()) << "\n";
        return 1;
    }
}

int run_compare(const CompareArgs& args) {
    for (const auto* path : {&args.a, &args.b}) {
        std::error_code ec;
        if (fs::is_directory(*path, ec)) {
            std::cerr << "bench-dist-control compare: " << text::printable(*path)
                      << " is a directory; compare takes two result files or two campaign files (report takes a "
                         "directory)\n";
            return 2;
        }
    }
    rp::LoadedFile a, b;
    try {
        a = rp::load_file(args.a);
        b = rp::load_file(args.b);
    } catch (const rp::ReportError& e) {
        std::cerr << "bench-dist-control compare: " << text::printable(e.what()) << "\n";
        return 1;
    }
    rp::Comparison c;
    if (a.result && b.result) {
        c = rp::compare_epochs(*a.result, *b.result);
    } else if (a.campaign && b.campaign) {
        c = rp::compare_campaigns(*a.campaign, *b.campaign);
    } else {
        std::cerr << "bench-dist-control compare: " << text::printable(args.a) << " is "
                  << (a.result ? "an epoch result" : "a campaign file") << " and " << text::printable(args.b) << " is "
                  << (b.result ? "an epoch result" : "a campaign file")
                  << "; compare takes two result files or two campaign files\n";
        return 2;
    }
    if (args.json)
        std::cout << control::pretty(rp::to_json(c));
    else
        std::cout << rp::format_comparison(c);
    return 0;
}

}  // namespace benchdist::control_tool
