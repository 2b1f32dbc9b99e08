// TLS to SpacetimeDB end to end: a throwaway CA and server certificate are
// made with OpenSSL in a temporary directory, and a small TLS-terminating
// proxy on 127.0.0.1 puts them in front of a real stdb-standin (which speaks
// plain TCP only, like SpacetimeDB behind nginx or a cloud load balancer).
// Checked: load over wss:// whose commits equal the server's counter, the
// coordinator's HTTP reads and verification subscription over https:// and
// wss://, SNI, a clear and prompt error when the CA is not trusted or the
// certificate names another host, and a whole epoch with real processes
// given --stdb-ca-file.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/generator/load_session.hpp"
#include "benchdist/net/http_client.hpp"
#include "benchdist/net/tls_context.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdbhttp/accounts_snapshot.hpp"
#include "benchdist/stdbhttp/server_api.hpp"
#include "rig.hpp"

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bc = benchdist::control;
namespace bg = benchdist::generator;
namespace bn = benchdist::net;
namespace stdb = benchdist::stdb;
namespace stdbhttp = benchdist::stdbhttp;
using asio::ip::tcp;
using namespace benchdist::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kInitialBalance = 1000000;

// ---- a throwaway PKI ------------------------------------------------------

struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
    if (!ext) throw std::runtime_error(std::string("bad extension ") + value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// A certificate for `key`, signed by issuer_key (self-signed when issuer is null).
Cert make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, long serial, bool ca,
               const std::string& san) {
    Cert cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509* signer = issuer ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    if (ca) {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
        add_extension(cert.get(), signer, NID_subject_alt_name, san.c_str());
    }
    if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0) {
        throw std::runtime_error("X509_sign failed");
    }
    return cert;
}

void write_pem(const fs::path& path, X509* cert, EVP_PKEY* key) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw std::runtime_error("cannot write " + path.string());
    const bool ok =
        (cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr)) == 1;
    std::fclose(f);
    if (!ok) throw std::runtime_error("cannot write PEM " + path.string());
}

// A CA, a server certificate for localhost and 127.0.0.1 signed by it, and
// one for another host, as PEM files in a fresh temporary directory.
class TestPki {
public:
    TestPki() {
        std::string tmpl = (fs::temp_directory_path() / "bench-dist-tls-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
        Pkey ca_key(EVP_EC_gen("P-256"));
        const Cert ca = make_cert(ca_key.get(), "bench-dist test CA", nullptr, nullptr, 1, true, {});
        write_pem(ca_file(), ca.get(), nullptr);
        issue(ca.get(), ca_key.get(), "localhost", "DNS:localhost,IP:127.0.0.1", 2, "server");
        issue(ca.get(), ca_key.get(), "wrong.example", "DNS:wrong.example", 3, "wrong");
    }
    ~TestPki() {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    fs::path ca_file() const { return dir_ / "ca.pem"; }
    fs::path cert_file(const std::string& name) const { return dir_ / (name + ".pem"); }
    fs::path key_file(const std::string& name) const { return dir_ / (name + ".key"); }
    const fs::path& dir() const { return dir_; }

private:
    void issue(X509* ca, EVP_PKEY* ca_key, const std::string& cn, const std::string& san, long serial,
               const std::string& name) {
        Pkey key(EVP_EC_gen("P-256"));
        const Cert cert = make_cert(key.get(), cn, ca, ca_key, serial, false, san);
        write_pem(cert_file(name), cert.get(), nullptr);
        write_pem(key_file(name), nullptr, key.get());
    }
    fs::path dir_;
};

// ---- a TLS-terminating TCP proxy -----------------------------------------

// Accepts TLS on 127.0.0.1, and pipes the decrypted bytes to a plain TCP
// upstream and back, one upstream connection per client. Records the SNI
// each completed handshake carried.
class TlsProxy {
public:
    TlsProxy(int upstream_port, const fs::path& cert, const fs::path& key)
        : ctx_(ssl::context::tls_server),
          acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          upstream_(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(upstream_port)) {
        ctx_.use_certificate_chain_file(cert.string());
        ctx_.use_private_key_file(key.string(), ssl::context::pem);
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~TlsProxy() {
        io_.stop();
        thread_.join();
    }
    int port() const { return acceptor_.local_endpoint().port(); }
    std::vector<std::string> server_names() const {
        std::lock_guard lock(mu_);
        return server_names_;
    }
    std::size_t handshakes() const {
        std::lock_guard lock(mu_);
        return server_names_.size();
    }

private:
    struct Session : std::enable_shared_from_this<Session> {
        Session(tcp::socket client, ssl::context& ctx, TlsProxy* proxy)
            : tls(std::move(client), ctx), upstream(tls.get_executor()), owner(proxy) {}
        ssl::stream<tcp::socket> tls;
        tcp::socket upstream;
        TlsProxy* owner;
        std::array<char, 16384> down{};  // client -> upstream
        std::array<char, 16384> up{};    // upstream -> client

        void start() {
            tls.async_handshake(ssl::stream_base::server, [self = shared_from_this()](boost::system::error_code ec) {
                if (ec) return;  // e.g. the client rejected our certificate
                const char* sni = SSL_get_servername(self->tls.native_handle(), TLSEXT_NAMETYPE_host_name);
                {
                    std::lock_guard lock(self->owner->mu_);
                    self->owner->server_names_.emplace_back(sni ? sni : "");
                }
                self->upstream.async_connect(self->owner->upstream_, [self](boost::system::error_code ec2) {
                    if (ec2) return self->stop();
                    self->pump_down();
                    self->pump_up();
                });
            });
        }
        void pump_down() {
            tls.async_read_some(asio::buffer(down),
                                [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                    if (ec) return self->stop();
                                    asio::async_write(self->upstream, asio::buffer(self->down.data(), n),
                                                      [self](boost::system::error_code ec2, std::size_t) {
                                                          if (ec2) return self->stop();
                                                          self->pump_down();
                                                      });
                                });
        }
        void pump_up() {
            upstream.async_read_some(asio::buffer(up),
                                     [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                         if (ec) return self->stop();
                                         asio::async_write(self->tls, asio::buffer(self->up.data(), n),
                                                           [self](boost::system::error_code ec2, std::size_t) {
                                                               if (ec2) return self->stop();
                                                               self->pump_up();
                                                           });
                                     });
        }
        void stop() {
            boost::system::error_code ignored;
            tls.lowest_layer().close(ignored);
            upstream.close(ignored);
        }
    };

    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec) return;
            std::make_shared<Session>(std::move(socket), ctx_, this)->start();
            accept();
        });
    }

    asio::io_context io_;
    ssl::context ctx_;
    tcp::acceptor acceptor_;
    tcp::endpoint upstream_;
    std::thread thread_;
    mutable std::mutex mu_;
    std::vector<std::string> server_names_;
};

// ---- the server under test -----------------------------------------------

// stdb-standin seeded with 1000 accounts, behind a proxy with the good
// certificate and one with a certificate for another host.
class TlsServer {
public:
    TlsServer()
        : plain_port_(standin_.port()),
          proxy_(plain_port_, pki_.cert_file("server"), pki_.key_file("server")),
          wrong_proxy_(plain_port_, pki_.cert_file("wrong"), pki_.key_file("wrong")) {
        standin_.seed(1000, kInitialBalance);
    }
    ~TlsServer() { bn::set_default_tls_options({}); }

    std::string plain(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(plain_port_) + path;
    }
    // The TLS front, by host name (SNI) or by address.
    std::string url(const std::string& scheme, const std::string& host = "localhost") const {
        return scheme + "://" + host + ":" + std::to_string(proxy_.port());
    }
    std::string wrong_host_url(const std::string& scheme) const {
        return scheme + "://localhost:" + std::to_string(wrong_proxy_.port());
    }
    const TestPki& pki() const { return pki_; }
    const TlsProxy& proxy() const { return proxy_; }

    // The stand-in's committed-transfer counter, read without TLS.
    std::uint64_t committed_plain() { return standin_.committed(); }

private:
    TestPki pki_;
    benchdist::testing::StandinProcess standin_;
    int plain_port_;
    TlsProxy proxy_;
    TlsProxy wrong_proxy_;
};

std::shared_ptr<const bg::TransferPairs> small_pairs() {
    bg::TransferPairsOptions o;
    o.accounts = 1000;
    o.count = 10000;
    return std::make_shared<bg::TransferPairs>(o);
}

bg::LoadSessionOptions session_options(const std::string& url) {
    bg::LoadSessionOptions o;
    o.endpoint = stdb::parse_endpoint(url);
    o.database = "test-1";
    o.concurrency = 6;
    o.open_parallelism = 3;
    o.threads = 2;
    o.op_timeout = 10s;
    o.connect_timeout = 5s;
    o.handshake_timeout = 5s;
    return o;
}

template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST(Tls, LoadOverWssCommitsEqualTheServerCounter) {
    TlsServer s;
    bn::set_default_tls_options({.ca_file = s.pki().ca_file().string()});
    bg::LoadSession session(session_options(s.url("wss")), small_pairs());
    session.open_all();
    EXPECT_EQ(session.opened(), 6u);
    session.start(1);
    ASSERT_TRUE(session.wait_for_committed(300, 30s)) << "committed only " << session.counters().committed;
    ASSERT_TRUE(session.stop());
    const auto c = session.counters();
    EXPECT_EQ(c.attempted, c.committed + c.errors());
    EXPECT_EQ(c.disconnects, 0u);
    EXPECT_EQ(c.timeouts, 0u);
    // Idle after stop: the server saw exactly our commits.
    EXPECT_EQ(s.committed_plain(), c.committed);
    session.close_all(5s);
    // Every connection went through TLS and named the host (SNI).
    const auto names = s.proxy().server_names();
    EXPECT_EQ(names.size(), 6u);
    for (const auto& n : names) EXPECT_EQ(n, "localhost");
}

TEST(Tls, CoordinatorReadsOverHttpsAndVerifiesOverWss) {
    TlsServer s;
    bn::set_default_tls_options({.ca_file = s.pki().ca_file().string()});
    for (const char* host : {"localhost", "127.0.0.1"}) {
        SCOPED_TRACE(host);
        const auto endpoint = stdb::parse_endpoint(s.url("https", host));
        const auto id = stdbhttp::fetch_database_identity(endpoint, "test-1", 10s);
        EXPECT_EQ(id.size(), 64u);
        stdbhttp::call_reducer_json(endpoint, "test-1", "transfer", "[1,2,5]", 10s);
        const auto read = stdbhttp::read_committed_transfers(endpoint, id, 10s);
        EXPECT_EQ(read.committed, s.committed_plain());
        EXPECT_GE(read.committed, 1u);
        const auto tally =
            stdbhttp::fetch_account_balances(endpoint, "test-1", kInitialBalance, stdb::Compression::None, 10s);
        EXPECT_TRUE(stdb::transfer::verify(tally).passed) << stdb::transfer::verify(tally).reason;
    }
    // No SNI for an IP address (RFC 6066), the name for a host name.
    const auto names = s.proxy().server_names();
    EXPECT_NE(std::find(names.begin(), names.end(), "localhost"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), ""), names.end());
}

TEST(Tls, UntrustedCertificateFailsPromptlyNamingHostAndFlag) {
    TlsServer s;
    bn::set_default_tls_options({});  // system store only: our CA is unknown
    const auto start = std::chrono::steady_clock::now();

    bg::LoadSession session(session_options(s.url("wss")), small_pairs());
    const auto load = error_of([&] { session.open_all(); });
    EXPECT_TRUE(contains(load, "TLS certificate verification failed for host localhost")) << load;
    EXPECT_TRUE(contains(load, "--stdb-ca-file")) << load;
    EXPECT_TRUE(contains(load, "opened 0 of 6")) << load;
    std::cout << "[ message  ] " << load << "\n";

    const auto endpoint = stdb::parse_endpoint(s.url("https"));
    const auto metrics = error_of([&] { stdbhttp::read_committed_transfers(endpoint, std::string(64, 'a'), 10s); });
    EXPECT_TRUE(contains(metrics, "TLS certificate verification failed for host localhost")) << metrics;
    EXPECT_TRUE(contains(metrics, "--stdb-ca-file")) << metrics;
    const auto verify = error_of(
        [&] { stdbhttp::fetch_account_balances(endpoint, "test-1", kInitialBalance, stdb::Compression::None, 10s); });
    EXPECT_TRUE(contains(verify, "TLS certificate verification failed for host localhost")) << verify;
    EXPECT_TRUE(contains(verify, "--stdb-ca-file")) << verify;

    try {
        bn::http_request({.url = s.url("https") + "/v1/ping", .timeout = 10s});
        ADD_FAILURE() << "expected a TLS error";
    } catch (const bn::HttpClientError& e) {
        EXPECT_EQ(e.kind(), bn::HttpClientError::Kind::Tls) << e.what();
    }
    // Nothing waited for a timeout.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(s.proxy().handshakes(), 0u);
}

TEST(Tls, CertificateForAnotherHostIsRejectedEvenWithTheCa) {
    TlsServer s;
    bn::set_default_tls_options({.ca_file = s.pki().ca_file().string()});
    const auto msg = error_of(
        [&] { stdbhttp::fetch_database_identity(stdb::parse_endpoint(s.wrong_host_url("https")), "test-1", 10s); });
    EXPECT_TRUE(contains(msg, "TLS certificate verification failed for host localhost")) << msg;
    EXPECT_TRUE(contains(msg, "not issued for `localhost`")) << msg;
    std::cout << "[ message  ] " << msg << "\n";
}

TEST(Tls, PlainServerBehindATlsUrlIsNamed) {
    TlsServer s;
    const std::string url = "https://127.0.0.1:" + s.plain("").substr(s.plain("").rfind(':') + 1) + "/v1/ping";
    try {
        bn::http_request({.url = url, .timeout = 10s});
        ADD_FAILURE() << "expected a TLS error";
    } catch (const bn::HttpClientError& e) {
        EXPECT_EQ(e.kind(), bn::HttpClientError::Kind::Tls) << e.what();
        EXPECT_TRUE(contains(e.what(), "TLS handshake with 127.0.0.1 failed")) << e.what();
        EXPECT_TRUE(contains(e.what(), "does the server speak TLS on this port?")) << e.what();
    }
}

TEST(Tls, InsecureSkipVerifyAcceptsAnUnknownCa) {
    TlsServer s;
    bn::set_default_tls_options({.insecure_skip_verify = true});
    const auto res = bn::http_request({.url = s.url("https") + "/v1/ping", .timeout = 10s});
    EXPECT_EQ(res.status, 200u);
}

TEST(Tls, UnusableCaFileIsAUsageError) {
    const auto missing = error_of([] { bn::TlsClientContext ctx({.ca_file = "/nonexistent/ca.pem"}); });
    EXPECT_TRUE(contains(missing, "--stdb-ca-file `/nonexistent/ca.pem` is not a readable file")) << missing;
    TestPki pki;
    const fs::path junk = pki.dir() / "junk.pem";
    {
        std::FILE* f = std::fopen(junk.c_str(), "w");
        std::fputs("not a certificate\n", f);
        std::fclose(f);
    }
    const auto bad = error_of([&] { bn::TlsClientContext ctx({.ca_file = junk.string()}); });
    EXPECT_TRUE(contains(bad, "holds no usable certificate")) << bad;
    // The tool refuses it at startup with exit code 2.
    Subprocess gen({bin_path("bench-dist-generator"), "--concurrency", "1", "--stdb-url", "wss://localhost:1",
                    "--stdb-ca-file", junk.string()});
    EXPECT_EQ(gen.wait_exit(20s), 2) << gen.output();
    EXPECT_TRUE(contains(gen.output(), "--stdb-ca-file")) << gen.output();
}

// Real processes: the coordinator reads metrics over https:// and verifies
// over wss://, the generator loads over wss://, both trusting the CA only
// through --stdb-ca-file. A generator without it stops with the TLS error.
TEST(Tls, EpochWithProcessesOverTls) {
    TlsServer s;
    const std::string ca = s.pki().ca_file().string();
    const fs::path results = s.pki().dir() / "results";
    benchdist::testing::CoordinatorProcess coordinator(
        {.stdb_url = s.url("https"),
         .results_dir = results,
         .args = {"--stdb-ca-file", ca, "--window-seconds", "1", "--align-window-ms", "0", "--verify",
                  "--initial-balance", std::to_string(kInitialBalance)}});
    const auto gen_args = [&](const std::string& id, bool with_ca) {
        return benchdist::testing::generator_argv(coordinator.url(), s.url("wss"),
                                                  {.id = id,
                                                   .concurrency = 3,
                                                   .args = with_ca ? std::vector<std::string>{"--stdb-ca-file", ca}
                                                                   : std::vector<std::string>{}});
    };

    Subprocess untrusting(gen_args("gen-no-ca", false));
    const auto code = untrusting.wait_exit(30s);
    EXPECT_TRUE(code.has_value() && *code != 0) << untrusting.output();
    EXPECT_TRUE(contains(untrusting.output(), "TLS certificate verification failed for host localhost"))
        << untrusting.output();

    Subprocess gen(gen_args("gen-tls", true));
    coordinator.add_diagnostics([&] { return gen.output(); });
    coordinator.wait_ready(1, 60s);
    const auto started = coordinator.start_epoch();
    ASSERT_TRUE(started.started) << started.message;
    const auto r = coordinator.wait_result(1, 60s);
    EXPECT_FALSE(r.error) << r.error.value_or("") << "\n" << coordinator.process().output();
    EXPECT_EQ(r.verification, "passed") << r.verification_error.value_or("");
    EXPECT_GT(std::stoull(r.committed_delta), 0u);
}
