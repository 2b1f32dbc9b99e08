// WsSession: one client's WebSocket connection to stdb-standin, speaking
// SpacetimeDB's v3 or v2 BSATN protocol. It validates the upgrade the way the
// real server does (route, query parameters, credentials, database,
// sub-protocol), sends InitialConnection, then turns each ClientMessage into
// work on the database's thread and sends the answers back in order. Replies
// ready at the same time share one v3 frame; bodies over 1 KiB are compressed
// when the client asked for it; --reply-delay-us holds each reply back
// without holding the database.
#pragma once

#include <memory>

#include "benchdist/net/websocket_upgrade.hpp"
#include "benchdist/stdb/messages.hpp"

namespace benchdist::standin {

struct ServerContext;

// Takes over an upgrade request from the HTTP server: either answers it with
// an HTTP error, or starts a session.
void start_websocket_session(net::UpgradeRequest&& upgrade, ServerContext& ctx);

class WsSession;
// Called from a database thread: queue a message for the client, after the
// reply delay. Safe if the session is already gone.
void deliver(const std::weak_ptr<WsSession>& session, stdb::ServerMessage message);

}  // namespace benchdist::standin
