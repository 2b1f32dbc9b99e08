// The few raw protocol pieces the suite needs because the SDK 2.10.1 has no
// API for them: encoding a v2 `ClientMessage::OneOffQuery`, and decoding
// server frames (compression tag + one (v2) or several (v3) `ServerMessage`s)
// so the `OneOffQueryResult` the SDK only logs can be checked. Layouts follow
// the wire reference, sections 3 and 4. The SDK's public BinaryReader and
// BinaryWriter do the primitive (little-endian) reads and writes.

import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { BinaryReader, BinaryWriter } from 'spacetimedb';

const CLIENT_ONE_OFF_QUERY = 2;

/** Bytes of `ClientMessage::OneOffQuery { request_id, query_string }`. */
export function encodeOneOffQuery(requestId, sql) {
  const writer = new BinaryWriter(64);
  writer.writeU8(CLIENT_ONE_OFF_QUERY);
  writer.writeU32(requestId);
  writer.writeString(sql);
  return writer.getBuffer().slice();
}

/** Strips and applies the server→client compression tag byte. */
export function decompressFrame(frameBytes) {
  const tag = frameBytes[0];
  const body = frameBytes.subarray(1);
  switch (tag) {
    case 0:
      return body;
    case 1:
      return new Uint8Array(brotliDecompressSync(body));
    case 2:
      return new Uint8Array(gunzipSync(body));
    default:
      throw new Error(`unknown compression tag ${tag}`);
  }
}

function readOption(reader, readSome) {
  const tag = reader.readU8();
  if (tag === 0) return readSome();
  if (tag === 1) return undefined;
  throw new Error(`bad Option tag ${tag}`);
}

function readArray(reader, readOne) {
  const count = reader.readU32();
  const out = [];
  for (let i = 0; i < count; i++) out.push(readOne());
  return out;
}

function readRowList(reader) {
  const hintTag = reader.readU8();
  let sizeHint;
  if (hintTag === 0) {
    sizeHint = { fixedSize: reader.readU16() };
  } else if (hintTag === 1) {
    sizeHint = { rowOffsets: readArray(reader, () => reader.readU64()) };
  } else {
    throw new Error(`bad RowSizeHint tag ${hintTag}`);
  }
  return { sizeHint, rowsData: reader.readUInt8Array() };
}

function readQueryRows(reader) {
  return readArray(reader, () => ({
    table: reader.readString(),
    rows: readRowList(reader),
  }));
}

function readTransactionUpdate(reader) {
  return readArray(reader, () => ({
    querySetId: reader.readU32(),
    tables: readArray(reader, () => ({
      tableName: reader.readString(),
      rows: readArray(reader, () => {
        const tag = reader.readU8();
        if (tag === 0) {
          return { inserts: readRowList(reader), deletes: readRowList(reader) };
        }
        if (tag === 1) return { events: readRowList(reader) };
        throw new Error(`bad TableUpdateRows tag ${tag}`);
      }),
    })),
  }));
}

function readServerMessage(reader) {
  const tag = reader.readU8();
  switch (tag) {
    case 0:
      reader.readBytes(32 + 16);
      return { kind: 'InitialConnection', token: reader.readString() };
    case 1:
      return {
        kind: 'SubscribeApplied',
        requestId: reader.readU32(),
        querySetId: reader.readU32(),
        rows: readQueryRows(reader),
      };
    case 2:
      return {
        kind: 'UnsubscribeApplied',
        requestId: reader.readU32(),
        querySetId: reader.readU32(),
        rows: readOption(reader, () => readQueryRows(reader)),
      };
    case 3:
      return {
        kind: 'SubscriptionError',
        requestId: readOption(reader, () => reader.readU32()),
        querySetId: reader.readU32(),
        error: reader.readString(),
      };
    case 4:
      return { kind: 'TransactionUpdate', querySets: readTransactionUpdate(reader) };
    case 5: {
      const requestId = reader.readU32();
      const resultTag = reader.readU8();
      if (resultTag === 0) {
        return { kind: 'OneOffQueryResult', requestId, ok: readQueryRows(reader) };
      }
      if (resultTag === 1) {
        return { kind: 'OneOffQueryResult', requestId, err: reader.readString() };
      }
      throw new Error(`bad Result tag ${resultTag}`);
    }
    case 6: {
      const requestId = reader.readU32();
      const timestampMicros = reader.readI64();
      const outcomeTag = reader.readU8();
      let outcome;
      if (outcomeTag === 0) {
        outcome = {
          ok: { retValue: reader.readUInt8Array(), update: readTransactionUpdate(reader) },
        };
      } else if (outcomeTag === 1) {
        outcome = { okEmpty: true };
      } else if (outcomeTag === 2) {
        outcome = { err: reader.readUInt8Array() };
      } else if (outcomeTag === 3) {
        outcome = { internalError: reader.readString() };
      } else {
        throw new Error(`bad ReducerOutcome tag ${outcomeTag}`);
      }
      return { kind: 'ReducerResult', requestId, timestampMicros, outcome };
    }
    case 7: {
      const statusTag = reader.readU8();
      const status =
        statusTag === 0
          ? { returned: reader.readUInt8Array() }
          : { internalError: reader.readString() };
      reader.readI64(); // timestamp
      reader.readI64(); // total host execution duration
      return { kind: 'ProcedureResult', status, requestId: reader.readU32() };
    }
    default:
      throw new Error(`unknown ServerMessage tag ${tag}`);
  }
}

/**
 * Decodes one inbound binary frame into its ServerMessages. v2 carries
 * exactly one message per frame; v3 one or more, back to back.
 */
export function decodeServerFrame(frameBytes, protocol) {
  const body = decompressFrame(frameBytes);
  const reader = new BinaryReader(body);
  const messages = [readServerMessage(reader)];
  if (protocol === 'v3.bsatn.spacetimedb') {
    while (reader.remaining > 0) messages.push(readServerMessage(reader));
  }
  if (reader.remaining !== 0) {
    throw new Error(`${reader.remaining} trailing byte(s) after ServerMessage`);
  }
  return messages;
}

/** Decodes `accounts` rows (u32 id, i64 balance) packed back to back. */
export function decodeAccountRows(rowsData) {
  const reader = new BinaryReader(rowsData);
  const rows = [];
  while (reader.remaining > 0) {
    rows.push({ id: reader.readU32(), balance: reader.readI64() });
  }
  return rows;
}
