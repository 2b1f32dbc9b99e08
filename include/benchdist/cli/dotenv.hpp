// The `.env` file of the working directory. The original harness's three
// tools started with `import "dotenv/config"`, so a `.env` next to them
// provided STDB_URL, STDB_MODULE, SEED_*, BENCH_* and tokens without a
// command line; ours read it the same way, before CLI11 parses, so every
// option with an environment fallback sees its values. As with dotenv, a
// variable already set in the real environment is left alone.
//
// The syntax is dotenv's one-line subset:
//   KEY=VALUE                 whitespace around KEY and VALUE trimmed
//   export KEY=VALUE          the shell's prefix is allowed
//   # comment, blank lines    ignored
//   KEY=value # comment       '#' ends an unquoted value (quote a value with '#')
//   KEY='literal # value'     single quotes: taken as is
//   KEY="a\nb"                double quotes: \n is a newline, \" a quote, \\ a backslash
// KEY must match [A-Za-z_][A-Za-z0-9_]*. Values span one line (dotenv's
// multi-line quoted values are not supported). A line that does not parse is
// reported and skipped; it never stops the tool. Reports never quote the
// file's text: a value may be a token.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace benchdist::cli {

struct DotenvEntry {
    std::string key;
    std::string value;
    std::size_t line = 0;  // 1-based
};

struct DotenvProblem {
    std::size_t line = 0;  // 1-based
    std::string what;      // names the rule broken, never the line's text
};

struct DotenvParse {
    std::vector<DotenvEntry> entries;  // in file order; a key may repeat (the last one counts)
    std::vector<DotenvProblem> problems;
};

// Parses the text of a .env file. Pure: no environment, no I/O.
DotenvParse parse_dotenv(std::string_view text);

struct DotenvLoad {
    std::vector<std::string> set;       // keys set from the file
    std::vector<std::string> kept;      // keys the real environment already had: left as they were
    std::vector<std::string> warnings;  // one line each, naming the file; text::printable ASCII only
};

// Reads `file` and sets each variable it defines (its last value) that the
// environment does not have yet. A missing file is no error: nothing is
// set and nothing is said. A file that cannot be read (permissions, a
// directory, not a regular file, larger than 1 MiB) and each line that does
// not parse give a warning.
DotenvLoad load_dotenv(const std::filesystem::path& file);

// What the tools call first in main(): load_dotenv(".env") with each
// warning printed to stderr as "<tool>: warning: <warning>".
void load_working_directory_dotenv(std::string_view tool);

}  // namespace benchdist::cli
