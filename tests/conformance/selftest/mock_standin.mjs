// A deliberately small JavaScript imitation of stdb-standin, used ONLY to
// check the conformance suite itself (that its assertions hold against a
// server that follows the wire reference). It is not the stand-in, proves
// nothing about the C++ server, and is never run by CTest.
//
//   node selftest/mock_standin.mjs [port]   # prints "listening <port>"
//
// Speaks v3/v2 BSATN for the keynote transfer module: Subscribe, Unsubscribe,
// OneOffQuery, CallReducer (seed, transfer), compression None/Gzip/Brotli
// over 1024 bytes. WebSocket framing is hand-rolled for brevity.

import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync, brotliCompressSync } from 'node:zlib';

const ACCOUNTS_SQL = 'SELECT * FROM accounts';
// MOCK_FAULT=<name> breaks one behaviour on purpose, to see the suite notice:
// no-gzip, wrong-error, no-caller-update, v2-only, internal-as-sender.
const FAULT = process.env.MOCK_FAULT || '';
const accounts = new Map(); // id -> bigint balance
const clients = new Set();

class Writer {
  constructor() { this.parts = []; }
  u8(v) { this.parts.push(Buffer.from([v])); return this; }
  u16(v) { const b = Buffer.alloc(2); b.writeUInt16LE(v); this.parts.push(b); return this; }
  u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.parts.push(b); return this; }
  i64(v) { const b = Buffer.alloc(8); b.writeBigInt64LE(v); this.parts.push(b); return this; }
  raw(buf) { this.parts.push(Buffer.from(buf)); return this; }
  bytes(buf) { this.u32(buf.length); return this.raw(buf); }
  str(s) { return this.bytes(Buffer.from(s, 'utf8')); }
  done() { return Buffer.concat(this.parts); }
}

class Reader {
  constructor(buf) { this.buf = buf; this.off = 0; }
  need(n) { if (this.off + n > this.buf.length) throw new Error('short message'); }
  u8() { this.need(1); return this.buf[this.off++]; }
  u32() { this.need(4); const v = this.buf.readUInt32LE(this.off); this.off += 4; return v; }
  i64() { this.need(8); const v = this.buf.readBigInt64LE(this.off); this.off += 8; return v; }
  bytes() { const n = this.u32(); this.need(n); const b = this.buf.subarray(this.off, this.off + n); this.off += n; return b; }
  str() { return this.bytes().toString('utf8'); }
  get remaining() { return this.buf.length - this.off; }
}

function rowBytes(id, balance) {
  return new Writer().u32(id).i64(balance).done();
}

function rowList(rows) {
  if (rows.length === 0) return new Writer().u8(1).u32(0).bytes(Buffer.alloc(0)).done();
  return new Writer().u8(0).u16(12).bytes(Buffer.concat(rows.map(([id, b]) => rowBytes(id, b)))).done();
}

function queryRows(rows) {
  return new Writer().u32(1).str('accounts').raw(rowList(rows)).done();
}

function transactionUpdate(querySetIds, inserts, deletes) {
  const w = new Writer().u32(querySetIds.length);
  for (const id of querySetIds) {
    w.u32(id).u32(1).str('accounts').u32(1).u8(0).raw(rowList(inserts)).raw(rowList(deletes));
  }
  return w.done();
}

function nowMicros() { return BigInt(Date.now()) * 1000n; }

function sendFrame(client, opcode, payload) {
  const len = payload.length;
  let header;
  if (len < 126) header = Buffer.from([0x80 | opcode, len]);
  else if (len < 65536) { header = Buffer.alloc(4); header[0] = 0x80 | opcode; header[1] = 126; header.writeUInt16BE(len, 2); }
  else { header = Buffer.alloc(10); header[0] = 0x80 | opcode; header[1] = 127; header.writeBigUInt64BE(BigInt(len), 2); }
  client.socket.write(Buffer.concat([header, payload]));
}

function sendServerMessage(client, body) {
  let framed;
  if (body.length > 1024 && client.compression === 'Gzip' && FAULT !== 'no-gzip') framed = Buffer.concat([Buffer.from([2]), gzipSync(body, { level: 1 })]);
  else if (body.length > 1024 && client.compression === 'Brotli') framed = Buffer.concat([Buffer.from([1]), brotliCompressSync(body)]);
  else framed = Buffer.concat([Buffer.from([0]), body]);
  sendFrame(client, 2, framed);
}

function sortedRows() { return [...accounts.entries()].sort((a, b) => a[0] - b[0]); }

function commit(caller, requestId, inserts, deletes) {
  for (const client of clients) {
    const sets = [...client.querySets];
    if (client === caller) {
      sendServerMessage(client, new Writer().u8(6).u32(requestId).i64(nowMicros()).u8(0)
        .bytes(Buffer.alloc(0)).raw(transactionUpdate(FAULT === 'no-caller-update' ? [] : sets, inserts, deletes)).done());
    } else if (sets.length > 0) {
      sendServerMessage(client, new Writer().u8(4).raw(transactionUpdate(sets, inserts, deletes)).done());
    }
  }
}

function reducerFailure(client, requestId, tag, payload) {
  sendServerMessage(client, new Writer().u8(6).u32(requestId).i64(nowMicros()).u8(tag).raw(payload).done());
}

function callReducer(client, requestId, name, args) {
  const r = new Reader(args);
  if (name === 'seed') {
    let n, initial;
    try { n = r.u32(); initial = r.i64(); if (r.remaining) throw new Error('trailing bytes'); }
    catch (e) { return reducerFailure(client, requestId, 3, new Writer().str(`invalid arguments for reducer seed: ${e.message}`).done()); }
    const deletes = sortedRows();
    accounts.clear();
    for (let id = 0; id < n; id++) accounts.set(id, initial);
    return commit(client, requestId, sortedRows(), deletes);
  }
  if (name === 'transfer') {
    let from, to, amount;
    try { from = r.u32(); to = r.u32(); amount = r.i64(); if (r.remaining) throw new Error('trailing bytes'); }
    catch (e) { return reducerFailure(client, requestId, 3, new Writer().str(`invalid arguments for reducer transfer: ${e.message}`).done()); }
    const userError = msg => reducerFailure(client, requestId, 2, new Writer().bytes(new Writer().str(msg).done()).done());
    if (from === to) return userError(FAULT === 'wrong-error' ? 'same account' : 'same_account');
    if (amount <= 0n) return userError('non_positive_amount');
    if (!accounts.has(from) || !accounts.has(to)) return userError('account_missing');
    if (accounts.get(from) < amount) return userError('insufficient_funds');
    const deletes = [[from, accounts.get(from)], [to, accounts.get(to)]];
    accounts.set(from, accounts.get(from) - amount);
    accounts.set(to, accounts.get(to) + amount);
    return commit(client, requestId, [[from, accounts.get(from)], [to, accounts.get(to)]], deletes);
  }
  if (FAULT === 'internal-as-sender') return reducerFailure(client, requestId, 2, new Writer().bytes(new Writer().str('no such reducer').done()).done());
  return reducerFailure(client, requestId, 3, new Writer().str('no such reducer').done());
}

function handleClientMessage(client, r) {
  const tag = r.u8();
  if (tag === 0) {
    const requestId = r.u32(); const qs = r.u32();
    const n = r.u32(); const queries = []; for (let i = 0; i < n; i++) queries.push(r.str());
    if (queries.every(q => q === ACCOUNTS_SQL)) {
      client.querySets.add(qs);
      sendServerMessage(client, new Writer().u8(1).u32(requestId).u32(qs).raw(queryRows(sortedRows())).done());
    } else {
      sendServerMessage(client, new Writer().u8(3).u8(0).u32(requestId).u32(qs).str('unsupported query').done());
    }
  } else if (tag === 1) {
    const requestId = r.u32(); const qs = r.u32(); const flags = r.u8();
    client.querySets.delete(qs);
    const w = new Writer().u8(2).u32(requestId).u32(qs);
    if (flags === 1) w.u8(0).raw(queryRows(sortedRows())); else w.u8(1);
    sendServerMessage(client, w.done());
  } else if (tag === 2) {
    const requestId = r.u32(); const sql = r.str();
    const w = new Writer().u8(5).u32(requestId);
    if (sql === ACCOUNTS_SQL) w.u8(0).raw(queryRows(sortedRows())); else w.u8(1).str(`no such table in "${sql}"`);
    sendServerMessage(client, w.done());
  } else if (tag === 3) {
    const requestId = r.u32(); const flags = r.u8(); if (flags !== 0) throw new Error('bad flags');
    const name = r.str(); const args = r.bytes();
    callReducer(client, requestId, name, Buffer.from(args));
  } else {
    throw new Error(`unsupported client message ${tag}`);
  }
}

function onData(client, chunk) {
  client.pending = Buffer.concat([client.pending, chunk]);
  for (;;) {
    const b = client.pending;
    if (b.length < 2) return;
    const opcode = b[0] & 0x0f; let len = b[1] & 0x7f; let off = 2;
    if (len === 126) { if (b.length < 4) return; len = b.readUInt16BE(2); off = 4; }
    else if (len === 127) { if (b.length < 10) return; len = Number(b.readBigUInt64BE(2)); off = 10; }
    if (b.length < off + 4 + len) return;
    const mask = b.subarray(off, off + 4); off += 4;
    const payload = Buffer.from(b.subarray(off, off + len));
    for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
    client.pending = b.subarray(off + len);
    if (opcode === 8) { sendFrame(client, 8, payload.subarray(0, 2)); client.socket.end(); clients.delete(client); return; }
    if (opcode === 9) { sendFrame(client, 10, payload); continue; }
    if (opcode !== 2) continue;
    const r = new Reader(payload);
    do handleClientMessage(client, r); while (client.protocol === 'v3.bsatn.spacetimedb' && r.remaining > 0);
  }
}

const server = createServer((req, res) => { res.writeHead(404); res.end('not found'); });
server.on('upgrade', (req, socket) => {
  const url = new URL(req.url, 'http://x');
  const offered = (req.headers['sec-websocket-protocol'] || '').split(',').map(s => s.trim());
  const protocol = (FAULT === 'v2-only' ? ['v2.bsatn.spacetimedb'] : ['v3.bsatn.spacetimedb', 'v2.bsatn.spacetimedb']).find(p => offered.includes(p));
  if (!/^\/v1\/database\/[^/]+\/subscribe$/.test(url.pathname) || !protocol) {
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`);
  const client = { socket, protocol, compression: url.searchParams.get('compression') || 'Brotli', querySets: new Set(), pending: Buffer.alloc(0) };
  clients.add(client);
  socket.on('data', chunk => { try { onData(client, chunk); } catch (e) { console.error(e); socket.destroy(); clients.delete(client); } });
  socket.on('close', () => clients.delete(client));
  socket.on('error', () => clients.delete(client));
  sendServerMessage(client, new Writer().u8(0).raw(randomBytes(32)).raw(randomBytes(16)).str('mock-token').done());
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
