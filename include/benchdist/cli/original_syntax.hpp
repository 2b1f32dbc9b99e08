// The command-line syntax of the original TypeScript harness that CLI11 does
// not accept by itself. The original's documented command lines (its
// DEVELOP.md runs `pnpm run bench-dist-coordinator -- --verify 1 ...`) must
// keep working with our tools, so two of its rules are reproduced here, once
// for all three tools:
//   - a bool flag takes an optional value: `--verify`, `--verify 1`,
//     `--verify off`, and (ours only) `--verify=false`; any other value is an
//     error, as it was in the original;
//   - a bare `--` anywhere is skipped (pnpm passes it through to the tool).
// Like option_groups.hpp, this keeps CLI11 out of the header.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace benchdist::cli {

// The values the original accepted for a bool flag, in any letter case:
// 1, true, yes, on -> true; 0, false, no, off -> false; anything else
// (including the empty string) -> nullopt.
std::optional<bool> parse_bool_value(std::string_view text);

// Adds `name` (e.g. "--verify") to `app` as a bool flag that writes `value`,
// which must outlive parsing; `value` keeps what it holds when the flag is
// absent. Given alone (or with an empty value, which CLI11 cannot tell
// apart) the flag means true. The argument after it is taken as
// its value when CLI11 sees neither an option (it starts with '-') nor a
// subcommand name in it, as the original took any argument not starting
// with "--"; `--name=V` works too. A value parse_bool_value refuses is a
// usage error (CLI::ValidationError) naming the flag and the accepted
// values. Given twice, the last one wins, as in the original. The help
// shows `[BOOL]` and gets the accepted values appended to `help`.
CLI::Option* add_bool_flag(CLI::App& app, const std::string& name, bool& value, const std::string& help);

// Removes every argument that is exactly "--" from argv (argv[0], the
// program, is kept), shifting the others down and keeping the terminating
// null pointer; returns the new argc. The original skipped a bare `--`, so
// `tool -- --flag x` works; none of our tools has positional arguments that
// the `--` could have protected.
int skip_bare_double_dashes(int argc, char** argv);

}  // namespace benchdist::cli
