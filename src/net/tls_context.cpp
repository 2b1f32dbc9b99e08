#include "benchdist/net/tls_context.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/system_error.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace benchdist::net {

namespace ssl = boost::asio::ssl;

TlsClientContext::TlsClientContext(const TlsOptions& options)
    : options_(options), ctx_(std::make_unique<ssl::context>(ssl::context::tls_client)) {
    // TLS 1.0/1.1 are deprecated (RFC 8996); SpacetimeDB's proxies speak 1.2+.
    SSL_CTX_set_min_proto_version(ctx_->native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    ctx_->set_default_verify_paths(ec);
    if (ec) throw TlsConfigError("cannot load the system's trusted certificates: " + ec.message());
    if (!options_.ca_file.empty()) {
        std::error_code fs_ec;
        if (!std::filesystem::is_regular_file(options_.ca_file, fs_ec) || !std::ifstream(options_.ca_file)) {
            throw TlsConfigError("--stdb-ca-file `" + options_.ca_file +
                                 "` is not a readable file -- give the path of the PEM certificate of the CA "
                                 "that signed the server's certificate");
        }
        ctx_->load_verify_file(options_.ca_file, ec);
        if (ec) {
            throw TlsConfigError("--stdb-ca-file `" + options_.ca_file + "` holds no usable certificate (" +
                                 ec.message() + ") -- it must contain PEM \"BEGIN CERTIFICATE\" blocks");
        }
    }
    ctx_->set_verify_mode(options_.insecure_skip_verify ? ssl::verify_none : ssl::verify_peer);
}

TlsClientContext::~TlsClientContext() = default;

ssl::context& TlsClientContext::native() const { return *ctx_; }

namespace {

std::mutex default_mutex;
std::shared_ptr<const TlsClientContext> default_context;

}  // namespace

std::shared_ptr<const TlsClientContext> default_tls_client_context() {
    std::lock_guard lock(default_mutex);
    if (!default_context) default_context = std::make_shared<TlsClientContext>(TlsOptions{});
    return default_context;
}

void set_default_tls_options(const TlsOptions& options) {
    auto next = std::make_shared<TlsClientContext>(options);
    std::lock_guard lock(default_mutex);
    default_context = std::move(next);
}

std::string prepare_tls_session(ssl_st* session, const std::string& host) {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(host, ec);
    if (ec) {
        if (SSL_set_tlsext_host_name(session, host.c_str()) != 1) {
            return "cannot set the TLS server name (SNI) to `" + host + "`";
        }
        // Wildcards may match one label only, as browsers do.
        SSL_set_hostflags(session, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set1_host(session, host.c_str()) != 1) return "cannot check certificates for host `" + host + "`";
        return {};
    }
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(session), address.to_string().c_str()) != 1) {
        return "cannot check certificates for IP address `" + host + "`";
    }
    return {};
}

std::string describe_tls_failure(ssl_st* session, std::string_view url, const std::string& host,
                                 const std::string& error, bool* verify_failed) {
    const std::string where = url.empty() ? std::string() : " (" + std::string(url) + ")";
    const long result = session ? SSL_get_verify_result(session) : X509_V_OK;
    const bool verifying = session && (SSL_get_verify_mode(session) & SSL_VERIFY_PEER) != 0;
    const bool rejected = verifying && result != X509_V_OK;
    if (verify_failed) *verify_failed = rejected;
    if (!rejected) {
        return "TLS handshake with " + host + " failed" + where + ": " + error +
               " -- does the server speak TLS on this port? (a plain server needs ws:// or http://)";
    }
    std::string msg =
        "TLS certificate verification failed for host " + host + where + ": " + X509_verify_cert_error_string(result);
    if (result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        msg += " -- the certificate was not issued for `" + host +
               "`; connect with a name the certificate lists in --stdb-url";
    } else {
        msg +=
            " -- if the server's certificate comes from a private CA, pass that CA's PEM file with "
            "--stdb-ca-file PATH";
    }
    return msg;
}

}  // namespace benchdist::net
