// TLS client settings for connections to SpacetimeDB (wss:// and https://):
// which certificates to trust and how each connection checks the server.
// One TlsClientContext (an OpenSSL SSL_CTX behind Boost.Asio's ssl::context)
// is built per process from --stdb-ca-file and shared by every connection,
// because loading a trust store per connection would cost milliseconds each
// and 10,000 load connections share one trust decision anyway. Verification
// is on by default against the system store; a private CA is added with
// --stdb-ca-file, never substituted for verification. Asio and OpenSSL types
// are only forward-declared here so this header stays cheap to include.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

struct ssl_st;  // OpenSSL's SSL

namespace benchdist::net {

// Thrown when the trust settings cannot be used (unreadable or malformed CA
// file); the message names the file and what to do.
class TlsConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct TlsOptions {
    // PEM file with one or more CA certificates trusted in addition to the
    // system store (--stdb-ca-file). Empty: the system store alone.
    std::string ca_file;
    // Accept any certificate (--stdb-insecure-skip-verify). For throwaway
    // test servers only: it makes TLS useless against an active attacker.
    bool insecure_skip_verify = false;
};

class TlsClientContext {
public:
    explicit TlsClientContext(const TlsOptions& options);
    ~TlsClientContext();
    TlsClientContext(const TlsClientContext&) = delete;
    TlsClientContext& operator=(const TlsClientContext&) = delete;

    // Thread-safe to use from many io_contexts at once: OpenSSL only reads
    // an SSL_CTX while creating sessions from it.
    boost::asio::ssl::context& native() const;
    const TlsOptions& options() const { return options_; }

private:
    TlsOptions options_;
    std::unique_ptr<boost::asio::ssl::context> ctx_;
};

// The process-wide context used when a caller passes none. Built lazily with
// default TlsOptions (system store, verification on) unless
// set_default_tls_options ran first. Never null.
std::shared_ptr<const TlsClientContext> default_tls_client_context();
// Replaces the process-wide context (the tools call this once after parsing
// --stdb-ca-file). Throws TlsConfigError and keeps the old one on failure.
void set_default_tls_options(const TlsOptions& options);

// Prepares one client session before its handshake: SNI (only for host
// names: RFC 6066 forbids IP literals there) and the name or IP address the
// certificate must match. Returns an empty string, or why it could not.
std::string prepare_tls_session(ssl_st* session, const std::string& host);

// An operator's message for a failed TLS handshake with `url` (left out of
// the message when empty, for callers that already name it). When the
// certificate was rejected it names the host, OpenSSL's reason and the fix
// (--stdb-ca-file); otherwise it passes on `error` (the transport's text).
// `verify_failed` is set when the certificate check was the cause.
std::string describe_tls_failure(ssl_st* session, std::string_view url, const std::string& host,
                                 const std::string& error, bool* verify_failed = nullptr);

}  // namespace benchdist::net
