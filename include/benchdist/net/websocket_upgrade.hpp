// UpgradeRequest: a WebSocket upgrade request taken over from HttpServer,
// with the connected stream, the parsed request and any bytes already read
// past it. Includes Beast, so only the .cpp files that implement a WebSocket
// endpoint include this header.
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "benchdist/net/http_server.hpp"

namespace benchdist::net {

class UpgradeRequest {
public:
    UpgradeRequest(boost::beast::tcp_stream stream,
                   boost::beast::http::request<boost::beast::http::string_body> request,
                   boost::beast::flat_buffer buffer)
        : stream(std::move(stream)), request(std::move(request)), buffer(std::move(buffer)) {}

    boost::beast::tcp_stream stream;
    boost::beast::http::request<boost::beast::http::string_body> request;
    boost::beast::flat_buffer buffer;
};

}  // namespace benchdist::net
