#include "benchdist/cli/dotenv.hpp"

#include "benchdist/text/printable.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>

namespace benchdist::cli {

namespace {

// Larger than any real .env by far; a bigger file is a mistake (a log, a
// dump) that should not be read into the environment.
constexpr std::size_t kMaxFileBytes = std::size_t{1} << 20;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    return s;
}

bool is_variable_name(std::string_view key) {
    const auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
    if (key.empty() || !letter(key.front())) return false;
    for (char c : key) {
        if (!letter(c) && !(c >= '0' && c <= '9')) return false;
    }
    return true;
}

// After a closing quote only blanks and a comment may follow.
bool only_comment_left(std::string_view rest) {
    rest = trim_left(rest);
    return rest.empty() || rest.front() == '#';
}

struct Value {
    std::string text;
    const char* problem = nullptr;  // set when the value does not parse
};

Value double_quoted(std::string_view s) {  // s starts after the opening quote
    Value v;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '"') {
            if (!only_comment_left(s.substr(i + 1))) v.problem = "text after the closing double quote";
            return v;
        }
        if (c == '\\' && i + 1 < s.size()) {
            const char next = s[i + 1];
            if (next == 'n' || next == '"' || next == '\\') {
                v.text.push_back(next == 'n' ? '\n' : next);
                ++i;
                continue;
            }
        }
        v.text.push_back(c);
    }
    v.problem = "no closing double quote on this line (values span one line)";
    return v;
}

Value single_quoted(std::string_view s) {  // s starts after the opening quote
    Value v;
    const auto end = s.find('\'');
    if (end == std::string_view::npos) {
        v.problem = "no closing single quote on this line (values span one line)";
        return v;
    }
    v.text = std::string(s.substr(0, end));
    if (!only_comment_left(s.substr(end + 1))) v.problem = "text after the closing single quote";
    return v;
}

Value unquoted(std::string_view s) { return Value{std::string(trim(s.substr(0, s.find('#'))))}; }

// One non-blank, non-comment line: the entry, or what is wrong with it.
std::optional<DotenvEntry> parse_line(std::string_view line, std::size_t number, std::vector<DotenvProblem>& problems) {
    const auto fail = [&](std::string what) {
        problems.push_back({number, std::move(what)});
        return std::nullopt;
    };
    if (line.find('\0') != std::string_view::npos) return fail("contains a NUL byte");
    if (line.substr(0, 6) == "export" && line.size() > 6 && is_blank(line[6])) line = trim_left(line.substr(6));
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) return fail("expected KEY=VALUE");
    const auto key = trim(line.substr(0, eq));
    if (!is_variable_name(key)) return fail("the key is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
    const auto rest = trim_left(line.substr(eq + 1));
    Value v;
    if (!rest.empty() && rest.front() == '"') {
        v = double_quoted(rest.substr(1));
    } else if (!rest.empty() && rest.front() == '\'') {
        v = single_quoted(rest.substr(1));
    } else {
        v = unquoted(rest);
    }
    if (v.problem) return fail(std::string(key) + ": " + v.problem);
    return DotenvEntry{std::string(key), std::move(v.text), number};
}

// The file's bytes; nullopt when it does not exist, else an empty `why`
// on success or the reason it cannot be used.
std::optional<std::string> read_small_file(const std::filesystem::path& file, std::string& why) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        why = std::strerror(errno);
        return std::string();
    }
    std::string text;
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        why = std::strerror(errno);
    } else if (!S_ISREG(st.st_mode)) {
        why = "not a regular file";  // a FIFO or device could block or never end
    } else if (static_cast<std::size_t>(st.st_size) > kMaxFileBytes) {
        why = "larger than 1 MiB";
    } else {
        char buf[4096];
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                why = std::strerror(errno);
                break;
            }
            if (n == 0) break;
            text.append(buf, static_cast<std::size_t>(n));
            if (text.size() > kMaxFileBytes) {
                why = "larger than 1 MiB";
                break;
            }
        }
    }
    ::close(fd);
    return text;
}

}  // namespace

DotenvParse parse_dotenv(std::string_view text) {
    DotenvParse out;
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte order mark
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF files
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;
        if (auto entry = parse_line(line, number, out.problems)) out.entries.push_back(std::move(*entry));
    }
    return out;
}

DotenvLoad load_dotenv(const std::filesystem::path& file) {
    DotenvLoad out;
    const std::string name = text::printable(file.string());
    std::string why;
    const auto text = read_small_file(file, why);
    if (!text) return out;
    if (!why.empty()) {
        out.warnings.push_back(name + ": cannot be read (" + why + "); no variable taken from it");
        return out;
    }
    const auto parsed = parse_dotenv(*text);
    for (const auto& p : parsed.problems) {
        out.warnings.push_back(name + " line " + std::to_string(p.line) + ": " + text::printable(p.what) +
                               "; line ignored");
    }
    // The last value of a key counts, as in dotenv; each key is looked up in
    // the environment before anything from the file was set.
    std::map<std::string, std::string> last;
    std::vector<std::string> order;
    for (const auto& e : parsed.entries) {
        if (last.count(e.key) == 0) order.push_back(e.key);
        last[e.key] = e.value;
    }
    for (const auto& key : order) {
        if (std::getenv(key.c_str()) != nullptr) {
            out.kept.push_back(key);
        } else if (::setenv(key.c_str(), last[key].c_str(), 0) == 0) {
            out.set.push_back(key);
        } else {
            out.warnings.push_back(name + ": cannot set " + key + " (" + std::strerror(errno) + ")");
        }
    }
    return out;
}

void load_working_directory_dotenv(std::string_view tool) {
    for (const auto& w : load_dotenv(".env").warnings) std::cerr << tool << ": warning: " << w << "\n";
}

}  // namespace benchdist::cli
