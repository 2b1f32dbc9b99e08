// The messages of SpacetimeDB's WebSocket protocol v2 (also used unchanged by
// v3, which only changes framing), as plain value types that own their data.
// The load generator encodes ClientMessages and decodes ServerMessages; the
// stand-in server does the reverse, so both directions are modelled in full.
// Every std::variant lists its alternatives in wire-tag order, so a variant's
// index() is the tag byte on the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "benchdist/bsatn/wide_int.hpp"

namespace benchdist::stdb {

using Bytes = std::vector<std::uint8_t>;

// --- Scalars ---------------------------------------------------------------

// A u256 sent little-endian; printed big-endian (to_hex) as SpacetimeDB does.
struct Identity {
    bsatn::U256 value{};
    std::string to_hex() const { return value.to_hex_be(); }
    static std::optional<Identity> from_hex(std::string_view hex);
    friend bool operator==(const Identity&, const Identity&) = default;
};

// A u128 sent little-endian; printed big-endian as 32 hex digits.
struct ConnectionId {
    bsatn::U128 value{};
    std::string to_hex() const { return value.to_hex_be(); }
    static std::optional<ConnectionId> from_hex(std::string_view hex);
    friend bool operator==(const ConnectionId&, const ConnectionId&) = default;
};

// Microseconds since the Unix epoch (not nanoseconds, whatever the upstream
// comments say).
struct Timestamp {
    std::int64_t micros_since_unix_epoch = 0;
    friend bool operator==(const Timestamp&, const Timestamp&) = default;
};

struct TimeDuration {
    std::int64_t micros = 0;
    friend bool operator==(const TimeDuration&, const TimeDuration&) = default;
};

struct QuerySetId {
    std::uint32_t id = 0;
    friend bool operator==(const QuerySetId&, const QuerySetId&) = default;
};

enum class UnsubscribeFlags : std::uint8_t { Default = 0, SendDroppedRows = 1 };

// --- Client -> server ------------------------------------------------------

enum class ClientMessageTag : std::uint8_t {
    Subscribe = 0,
    Unsubscribe = 1,
    OneOffQuery = 2,
    CallReducer = 3,
    CallProcedure = 4,
};
inline constexpr std::uint8_t kClientMessageVariants = 5;

struct Subscribe {
    std::uint32_t request_id = 0;
    QuerySetId query_set_id;
    std::vector<std::string> query_strings;
    friend bool operator==(const Subscribe&, const Subscribe&) = default;
};

struct Unsubscribe {
    std::uint32_t request_id = 0;
    QuerySetId query_set_id;
    UnsubscribeFlags flags = UnsubscribeFlags::Default;
    friend bool operator==(const Unsubscribe&, const Unsubscribe&) = default;
};

struct OneOffQuery {
    std::uint32_t request_id = 0;
    std::string query_string;
    friend bool operator==(const OneOffQuery&, const OneOffQuery&) = default;
};

// The wire also carries a `flags: u8` after request_id. v2 defines no flag,
// the server rejects anything but 0, so it is not a field: the encoder writes
// 0 and the decoder rejects other values.
struct CallReducer {
    std::uint32_t request_id = 0;
    std::string reducer;
    Bytes args;  // BSATN product of the reducer's parameters
    friend bool operator==(const CallReducer&, const CallReducer&) = default;
};

struct CallProcedure {
    std::uint32_t request_id = 0;
    std::string procedure;
    Bytes args;
    friend bool operator==(const CallProcedure&, const CallProcedure&) = default;
};

using ClientMessage = std::variant<Subscribe, Unsubscribe, OneOffQuery, CallReducer, CallProcedure>;

// --- Row lists -------------------------------------------------------------

// RowSizeHint::FixedSize: every row has exactly row_size bytes.
struct FixedSizeHint {
    std::uint16_t row_size = 0;
    friend bool operator==(const FixedSizeHint&, const FixedSizeHint&) = default;
};

// RowSizeHint::RowOffsets: start of each row in rows_data.
struct RowOffsetsHint {
    std::vector<std::uint64_t> offsets;
    friend bool operator==(const RowOffsetsHint&, const RowOffsetsHint&) = default;
};

using RowSizeHint = std::variant<FixedSizeHint, RowOffsetsHint>;

// Default-constructed, this is the empty list exactly as the server sends it:
// RowOffsets([]) with no data.
struct BsatnRowList {
    RowSizeHint size_hint{RowOffsetsHint{}};
    Bytes rows_data;
    friend bool operator==(const BsatnRowList&, const BsatnRowList&) = default;
};

struct SingleTableRows {
    std::string table;
    BsatnRowList rows;
    friend bool operator==(const SingleTableRows&, const SingleTableRows&) = default;
};

struct QueryRows {
    std::vector<SingleTableRows> tables;
    friend bool operator==(const QueryRows&, const QueryRows&) = default;
};

// TableUpdateRows::PersistentTable (inserts first on the wire).
struct PersistentTableRows {
    BsatnRowList inserts;
    BsatnRowList deletes;
    friend bool operator==(const PersistentTableRows&, const PersistentTableRows&) = default;
};

// TableUpdateRows::EventTable.
struct EventTableRows {
    BsatnRowList events;
    friend bool operator==(const EventTableRows&, const EventTableRows&) = default;
};

using TableUpdateRows = std::variant<PersistentTableRows, EventTableRows>;

struct TableUpdate {
    std::string table_name;
    std::vector<TableUpdateRows> rows;
    friend bool operator==(const TableUpdate&, const TableUpdate&) = default;
};

struct QuerySetUpdate {
    QuerySetId query_set_id;
    std::vector<TableUpdate> tables;
    friend bool operator==(const QuerySetUpdate&, const QuerySetUpdate&) = default;
};

// Both the payload of ServerMessage tag 4 and the update inside ReducerOk.
struct TransactionUpdate {
    std::vector<QuerySetUpdate> query_sets;
    friend bool operator==(const TransactionUpdate&, const TransactionUpdate&) = default;
};

// --- Reducer and procedure outcomes ----------------------------------------

struct ReducerOk {
    Bytes ret_value;
    TransactionUpdate transaction_update;
    friend bool operator==(const ReducerOk&, const ReducerOk&) = default;
};

// Part of the protocol although the current server never sends it.
struct ReducerOkEmpty {
    friend bool operator==(const ReducerOkEmpty&, const ReducerOkEmpty&) = default;
};

// A user error. `payload` is the BSATN encoding of the error string (so the
// wire has two length prefixes); use make()/message() rather than raw bytes.
// Our decoders reject a payload that is not exactly one BSATN string.
struct ReducerErr {
    Bytes payload;
    static ReducerErr make(std::string_view message);
    // Decodes the nested string; throws bsatn::DecodeError if it is not one.
    std::string message() const;
    friend bool operator==(const ReducerErr&, const ReducerErr&) = default;
};

struct ReducerInternalError {
    std::string message;
    friend bool operator==(const ReducerInternalError&, const ReducerInternalError&) = default;
};

using ReducerOutcome = std::variant<ReducerOk, ReducerOkEmpty, ReducerErr, ReducerInternalError>;

struct ProcedureReturned {
    Bytes value;
    friend bool operator==(const ProcedureReturned&, const ProcedureReturned&) = default;
};

struct ProcedureInternalError {
    std::string message;
    friend bool operator==(const ProcedureInternalError&, const ProcedureInternalError&) = default;
};

using ProcedureStatus = std::variant<ProcedureReturned, ProcedureInternalError>;

// --- Server -> client ------------------------------------------------------

enum class ServerMessageTag : std::uint8_t {
    InitialConnection = 0,
    SubscribeApplied = 1,
    UnsubscribeApplied = 2,
    SubscriptionError = 3,
    TransactionUpdate = 4,
    OneOffQueryResult = 5,
    ReducerResult = 6,
    ProcedureResult = 7,
};
inline constexpr std::uint8_t kServerMessageVariants = 8;

struct InitialConnection {
    Identity identity;
    ConnectionId connection_id;
    std::string token;
    friend bool operator==(const InitialConnection&, const InitialConnection&) = default;
};

struct SubscribeApplied {
    std::uint32_t request_id = 0;
    QuerySetId query_set_id;
    QueryRows rows;
    friend bool operator==(const SubscribeApplied&, const SubscribeApplied&) = default;
};

struct UnsubscribeApplied {
    std::uint32_t request_id = 0;
    QuerySetId query_set_id;
    std::optional<QueryRows> rows;  // Some only when SendDroppedRows was asked for
    friend bool operator==(const UnsubscribeApplied&, const UnsubscribeApplied&) = default;
};

struct SubscriptionError {
    std::optional<std::uint32_t> request_id;  // None: an applied query set failed later
    QuerySetId query_set_id;
    std::string error;
    friend bool operator==(const SubscriptionError&, const SubscriptionError&) = default;
};

// Result<QueryRows, string>: index 0 = Ok, 1 = Err, as on the wire.
using OneOffQueryOutcome = std::variant<QueryRows, std::string>;

struct OneOffQueryResult {
    std::uint32_t request_id = 0;
    OneOffQueryOutcome result;
    friend bool operator==(const OneOffQueryResult&, const OneOffQueryResult&) = default;
};

struct ReducerResult {
    std::uint32_t request_id = 0;
    Timestamp timestamp;  // the reducer's start time
    ReducerOutcome result;
    friend bool operator==(const ReducerResult&, const ReducerResult&) = default;
};

// request_id is the LAST field on the wire for this message.
struct ProcedureResult {
    ProcedureStatus status;
    Timestamp timestamp;
    TimeDuration total_host_execution_duration;
    std::uint32_t request_id = 0;
    friend bool operator==(const ProcedureResult&, const ProcedureResult&) = default;
};

using ServerMessage = std::variant<InitialConnection, SubscribeApplied, UnsubscribeApplied, SubscriptionError,
                                   TransactionUpdate, OneOffQueryResult, ReducerResult, ProcedureResult>;

// Names for logs and error messages ("CallReducer", "ReducerResult", ...).
std::string_view client_message_name(ClientMessageTag tag);
std::string_view server_message_name(ServerMessageTag tag);
inline ClientMessageTag tag_of(const ClientMessage& m) { return static_cast<ClientMessageTag>(m.index()); }
inline ServerMessageTag tag_of(const ServerMessage& m) { return static_cast<ServerMessageTag>(m.index()); }

}  // namespace benchdist::stdb
