// The files a report reads: result files, campaign files and directories of
// them (a coordinator's --results-dir holds both). Everything else in this
// component is pure; this is the part that touches the file system.
#pragma once

#include <string>
#include <vector>

#include "benchdist/report/model.hpp"

namespace benchdist::report {

// A result file or a campaign file, told apart by its keys ("campaign" and
// "kind": a campaign; "epoch": a result).
struct LoadedFile {
    std::optional<EpochReport> result;
    std::optional<CampaignReport> campaign;
};
// Throws ReportError: the file cannot be read, is not JSON, or is neither.
LoadedFile load_file(const std::string& path);

// Every input, each a result file, a campaign file or a directory:
//  - a directory: every *.json in it that is a result or a campaign
//    (index.jsonl, temporary files and other JSON are skipped, with a note
//    for the latter); a malformed result or campaign is still an error;
//  - a campaign file: also the result files of its epochs found beside it
//    (<test>-<connector>-epoch-NNN-*.json with the epoch's finishedAt).
// The same file reached twice is read once. Then link_campaigns. Throws
// ReportError naming the file (and key), or when nothing was found.
Report load_report(const std::vector<std::string>& inputs);

}  // namespace benchdist::report
