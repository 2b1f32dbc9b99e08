// The sentences the markdown and HTML reports share (summaries, a
// campaign's description and outcome), written once so both say the same.
// Plain text: each renderer escapes it for its language.
#pragma once

#include <string>
#include <string_view>

#include "benchdist/report/model.hpp"

namespace benchdist::report::detail {

// The manifest key's table title ("in flight").
std::string manifest_title(std::string_view key);
// "participant_lost window_length".
std::string reason_codes(const campaign::EpochRecord& e);
// "5 epochs (4 valid, 1 invalid), 1 campaign." and whether the workloads
// are comparable: "The workload differs between epochs in: ...".
std::string report_summary(const Report& report);
// What the campaign varied and how: "Varies connections = 8, 64 x alpha = 0,
// 1.5; 1 repeat per point; ...".
std::string campaign_summary(const campaign::Campaign& c);
// The point's description, or "run N" for --runs.
std::string point_name(const campaign::Campaign& c, const Json& point);
// An invalid point's reasons: "code: message; ...".
// "code: message; code: message" of a point's (or result's) "reasons";
// empty when it has none. point_reasons says "no reasons recorded" then.
std::string reasons_text(const Json& point);
std::string point_reasons(const Json& point);
// Saturate: the knee, stop reason and limit; runs: the TPS statistics;
// sweep: "".
std::string campaign_outcome(const campaign::Campaign& c);

}  // namespace benchdist::report::detail
