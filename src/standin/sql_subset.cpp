#include "benchdist/standin/sql_subset.hpp"

#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

namespace benchdist::standin {

namespace {

enum class Tok { Word, Quoted, Number, String, Symbol, End };

struct Token {
    Tok kind = Tok::End;
    std::string text;  // Quoted/String without their quotes

    std::string shown() const {
        switch (kind) {
            case Tok::End:
                return "EOF";
            case Tok::Quoted:
                return "\"" + text + "\"";
            case Tok::String:
                return "'" + text + "'";
            default:
                return text;
        }
    }
};

struct LexError {
    std::string message;
};

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto ca = static_cast<unsigned char>(a[i]);
        const auto cb = static_cast<unsigned char>(b[i]);
        if (std::toupper(ca) != std::toupper(cb)) return false;
    }
    return true;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

// Returns false and sets err on a lexical error.
bool tokenize(std::string_view sql, std::vector<Token>& out, std::string& err) {
    std::size_t i = 0;
    while (i < sql.size()) {
        const char c = sql[i];
        if (std::isspace(static_cast<unsigned char>(c)) != 0) {
            ++i;
        } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
            while (i < sql.size() && sql[i] != '\n') ++i;  // SQL line comment
        } else if (is_ident_start(c)) {
            const std::size_t start = i;
            while (i < sql.size() && is_ident_char(sql[i])) ++i;
            out.push_back({Tok::Word, std::string(sql.substr(start, i - start))});
        } else if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
            const std::size_t start = i;
            while (i < sql.size() && (std::isdigit(static_cast<unsigned char>(sql[i])) != 0 || sql[i] == '.')) ++i;
            out.push_back({Tok::Number, std::string(sql.substr(start, i - start))});
        } else if (c == '"' || c == '`' || c == '\'') {
            const std::size_t end = sql.find(c, i + 1);
            if (end == std::string_view::npos) {
                err = c == '\'' ? "sql parser error: Unterminated string literal"
                                : "sql parser error: Expected close delimiter '" + std::string(1, c) + "' before EOF";
                return false;
            }
            out.push_back({c == '\'' ? Tok::String : Tok::Quoted, std::string(sql.substr(i + 1, end - i - 1))});
            i = end + 1;
        } else {
            static constexpr std::string_view two_char[] = {"<=", ">=", "<>", "!=", "=="};
            std::string sym(1, c);
            for (const auto op : two_char) {
                if (sql.substr(i, 2) == op) sym = op;
            }
            if (std::string_view("*=;,.()<>!-+/%").find(c) == std::string_view::npos) {
                err = "sql parser error: Unexpected character '" + std::string(1, c) + "'";
                return false;
            }
            out.push_back({Tok::Symbol, sym});
            i += sym.size();
        }
    }
    out.push_back({Tok::End, ""});
    return true;
}

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

    SqlParseResult parse() {
        SqlParseResult r;
        if (peek().kind == Tok::End || (is_symbol(";") && toks_[1].kind == Tok::End)) return fail("Empty SQL query");
        if (!is_word("SELECT")) {
            if (peek().kind == Tok::Word)
                return fail("Unsupported: " + upper(peek().text) + " statements" + std::string(kSqlSubsetNote));
            return expected("an SQL statement");
        }
        next();
        if (!is_symbol("*")) {
            if (peek().kind == Tok::End) return expected("an expression");
            std::string projection;
            while (peek().kind != Tok::End && !is_word("FROM")) {
                const Token t = next();
                // Re-spaced the usual way: "a, b", "f(*)", "t.c".
                const bool tight_before =
                    t.kind == Tok::Symbol && std::string_view(",().").find(t.text) != std::string_view::npos;
                if (!projection.empty() && !tight_before && projection.back() != '(' && projection.back() != '.')
                    projection += ' ';
                projection += t.shown();
            }
            return fail("Unsupported projection: " + projection + std::string(kSqlSubsetNote));
        }
        next();
        if (peek().kind == Tok::End || is_symbol(";")) return fail("A FROM clause is required");
        if (!is_word("FROM")) return expected("FROM");
        next();

        if (peek().kind != Tok::Word && peek().kind != Tok::Quoted) return expected("identifier");
        if (peek().kind == Tok::Word && is_reserved(peek().text)) return expected("identifier");
        const std::string table = next().text;
        if (is_symbol(".")) {
            next();
            return fail("Multi-part names are not supported: " + table + "." + peek().text);
        }
        if (is_symbol(",")) return fail("Implicit joins are not supported");

        std::optional<std::string> column;
        Token literal;
        bool negative = false;
        if (is_word("WHERE")) {
            next();
            if (peek().kind != Tok::Word && peek().kind != Tok::Quoted) return expected("an expression");
            std::string first = next().text;
            if (is_symbol(".")) {
                next();
                if (peek().kind != Tok::Word && peek().kind != Tok::Quoted) return expected("identifier");
                const std::string field = next().text;
                if (first != table) return fail("`" + first + "` is not in scope");
                first = field;
            }
            column = first;
            if (!is_symbol("=")) {
                if (peek().kind == Tok::Symbol || is_word("LIKE") || is_word("IN") || is_word("IS") ||
                    is_word("BETWEEN"))
                    return fail("Unsupported: operator `" + upper(peek().text) + "` in WHERE" +
                                std::string(kSqlSubsetNote));
                return expected("an operator");
            }
            next();
            if (is_symbol("-")) {
                negative = true;
                next();
            }
            if (peek().kind != Tok::Number && peek().kind != Tok::String) return expected("a literal");
            literal = next();
        }

        if (is_symbol(";")) {
            next();
            if (peek().kind != Tok::End) return fail("Multiple SQL statements are not supported");
        }
        if (peek().kind != Tok::End) {
            if (peek().kind == Tok::Word)
                return fail("Unsupported: " + upper(peek().text) + std::string(kSqlSubsetNote));
            return expected("end of statement");
        }

        // Syntax is fine; now resolve names, as the server's type checker does.
        if (table != stdb::transfer::kAccountsTable) return fail("no such table: `" + table + "`");
        AccountsQuery q;
        if (column) {
            if (*column == "balance")
                return fail("Unsupported: WHERE on column `balance`" + std::string(kSqlSubsetNote));
            if (*column != "id") return fail("`" + table + "` does not have a field `" + *column + "`");
            const std::string text = (negative ? "-" : "") + literal.text;
            std::uint32_t id = 0;
            const auto res = std::from_chars(literal.text.data(), literal.text.data() + literal.text.size(), id);
            if (negative || literal.kind != Tok::Number || res.ec != std::errc{} ||
                res.ptr != literal.text.data() + literal.text.size())
                return fail("The literal expression `" + text + "` cannot be parsed as type `U32`");
            q.id = id;
        }
        r.query = q;
        return r;
    }

private:
    const Token& peek() const { return toks_[pos_]; }
    Token next() { return pos_ + 1 < toks_.size() ? toks_[pos_++] : toks_[pos_]; }
    bool is_word(std::string_view kw) const { return peek().kind == Tok::Word && iequals(peek().text, kw); }
    bool is_symbol(std::string_view s) const { return peek().kind == Tok::Symbol && peek().text == s; }
    static bool is_reserved(std::string_view w) {
        for (const auto kw : {"SELECT", "FROM", "WHERE", "AND", "OR", "JOIN", "ORDER", "LIMIT", "GROUP"}) {
            if (iequals(w, kw)) return true;
        }
        return false;
    }
    static SqlParseResult fail(std::string message) {
        SqlParseResult r;
        r.error = std::move(message);
        return r;
    }
    SqlParseResult expected(std::string_view what) const {
        return fail("sql parser error: Expected: " + std::string(what) + ", found: " + peek().shown());
    }

    std::vector<Token> toks_;
    std::size_t pos_ = 0;
};

void append_json_row(std::string& out, const Account& row) {
    out += '[';
    out += std::to_string(row.id);
    out += ',';
    out += std::to_string(row.balance);
    out += ']';
}

}  // namespace

SqlParseResult parse_sql(std::string_view sql) {
    std::vector<Token> tokens;
    std::string err;
    if (!tokenize(sql, tokens, err)) {
        SqlParseResult r;
        r.error = std::move(err);
        return r;
    }
    return Parser(std::move(tokens)).parse();
}

bool query_matches(const AccountsQuery& query, const Account& row) { return !query.id || *query.id == row.id; }

std::vector<Account> execute_query(const Database& db, const AccountsQuery& query) {
    std::vector<Account> rows;
    if (query.id) {
        if (auto row = db.find(*query.id)) rows.push_back(*row);
        return rows;
    }
    const auto balances = db.balances();
    rows.reserve(balances.size());
    for (std::size_t i = 0; i < balances.size(); ++i) rows.push_back({static_cast<std::uint32_t>(i), balances[i]});
    return rows;
}

std::size_t append_query_rows_bsatn(const Database& db, const AccountsQuery& query, std::vector<std::uint8_t>& out) {
    if (query.id) return db.append_row_bsatn(*query.id, out) ? 1 : 0;
    db.append_rows_bsatn(out);
    return db.row_count();
}

nlohmann::json sql_result_json(std::span<const Account> rows, std::int64_t total_duration_micros) {
    nlohmann::json json_rows = nlohmann::json::array();
    for (const auto& r : rows) json_rows.push_back(nlohmann::json::array({r.id, r.balance}));
    nlohmann::json stmt = {
        {"schema",
         {{"elements", nlohmann::json::array({
                           {{"name", {{"some", "id"}}}, {"algebraic_type", {{"U32", nlohmann::json::array()}}}},
                           {{"name", {{"some", "balance"}}}, {"algebraic_type", {{"I64", nlohmann::json::array()}}}},
                       })}}},
        {"rows", std::move(json_rows)},
        {"total_duration_micros", total_duration_micros},
        {"stats", {{"rows_inserted", 0}, {"rows_deleted", 0}, {"rows_updated", 0}}},
    };
    return nlohmann::json::array({std::move(stmt)});
}

std::string sql_result_body(std::span<const Account> rows, std::int64_t total_duration_micros) {
    std::string out;
    out.reserve(rows.size() * 20 + 300);
    out += R"([{"schema":{"elements":[{"name":{"some":"id"},"algebraic_type":{"U32":[]}},)"
           R"({"name":{"some":"balance"},"algebraic_type":{"I64":[]}}]},"rows":[)";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i > 0) out += ',';
        append_json_row(out, rows[i]);
    }
    out += R"(],"total_duration_micros":)";
    out += std::to_string(total_duration_micros);
    out += R"(,"stats":{"rows_inserted":0,"rows_deleted":0,"rows_updated":0}}])";
    return out;
}

SqlHttpResponse run_sql_http(Database& db, std::string_view sql) {
    const auto start = std::chrono::steady_clock::now();
    SqlHttpResponse resp;
    const auto parsed = parse_sql(sql);
    if (!parsed.ok()) {
        resp.status = 400;
        resp.content_type = "text/plain; charset=utf-8";
        resp.body = parsed.error;
        return resp;
    }
    const auto rows = execute_query(db, *parsed.query);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    resp.duration_micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
    resp.content_type = "application/json";
    resp.body = sql_result_body(rows, resp.duration_micros);
    db.record_sql_transaction(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed));
    return resp;
}

}  // namespace benchdist::standin
