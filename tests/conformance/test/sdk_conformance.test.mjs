// Conformance suite: drives the official SpacetimeDB TypeScript SDK
// (npm `spacetimedb` 2.10.1) against a server that claims to speak
// SpacetimeDB's protocol for the keynote transfer module (our C++
// `stdb-standin`, or a real SpacetimeDB with the module published). Every
// combination of subprotocol {v3, v2} x compression {none, gzip} runs the same
// story: connect, seed, subscribe, transfer, every module error, a second
// subscriber, reducer-call failures, a one-off query, compression of large
// messages, clean disconnect. Each group starts with `seed`, which resets the
// table, so groups run in sequence against one database or fresh ones.
//
// Environment: STDB_URL (required, e.g. ws://127.0.0.1:3000),
// STDB_DATABASE (default test-1), STDB_TIMEOUT_MS (per wait, default 5000),
// STDB_SDK_LOG_LEVEL (SDK log level, default warn).

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Identity, InternalError, SenderError } from 'spacetimedb';
import {
  balances,
  captureSdkLog,
  config,
  connect,
  onAccountsChange,
  subscribe,
  waitUntil,
  withTimeout,
} from '../lib/harness.mjs';
import {
  decodeAccountRows,
  decodeServerFrame,
  decompressFrame,
  encodeOneOffQuery,
} from '../lib/raw_protocol.mjs';
import { V2_PROTOCOL, V3_PROTOCOL, closeAllSockets } from '../lib/ws_recorder.mjs';

const ACCOUNTS_SQL = 'SELECT * FROM accounts';
const SEED_N = 10;
const SEED_BALANCE = 1000n;
// Above the server's 1024-byte compression threshold once encoded.
const LARGE_SEED_N = 200;
const LARGE_SEED_BALANCE = 7n;
const COMPRESSION_THRESHOLD = 1024;
const TEST_TIMEOUT_MS = Math.max(30_000, config.timeoutMs * 6);

const COMBINATIONS = [
  { protocol: 'v3', compression: 'none' },
  { protocol: 'v3', compression: 'gzip' },
  { protocol: 'v2', compression: 'none' },
  { protocol: 'v2', compression: 'gzip' },
];

/** Balances after seed(10, 1000) then transfer(1, 2, 5). */
function expectedAfterTransfer() {
  const expected = new Map();
  for (let id = 0; id < SEED_N; id++) expected.set(id, SEED_BALANCE);
  expected.set(1, SEED_BALANCE - 5n);
  expected.set(2, SEED_BALANCE + 5n);
  return expected;
}

function seededBalances(n, balance) {
  return new Map(Array.from({ length: n }, (_, id) => [id, balance]));
}

function sortedEntries(map) {
  return [...map.entries()].sort((x, y) => x[0] - y[0]);
}

function assertBalances(actual, expected, who) {
  assert.deepEqual(sortedEntries(actual), sortedEntries(expected), `${who} cache`);
}

/**
 * Asserts that `promise` rejects with an instance of `ErrorClass` whose
 * message satisfies `message` (exact string or predicate).
 */
async function assertRejectsWith(promise, ErrorClass, message, what) {
  let outcome;
  try {
    await promise;
    outcome = 'resolved';
  } catch (error) {
    outcome = error;
  }
  assert.ok(
    outcome instanceof ErrorClass,
    `${what}: expected ${ErrorClass.name}, got ${
      outcome === 'resolved' ? 'success' : `${outcome?.name}: ${outcome?.message}`
    }`
  );
  assert.equal(outcome.name, ErrorClass.name, `${what}: error name`);
  if (typeof message === 'function') {
    assert.ok(message(outcome.message), `${what}: unexpected message "${outcome.message}"`);
  } else {
    assert.equal(outcome.message, message, `${what}: error message`);
  }
}

/** Where the SDK should open the socket, given STDB_URL and the database. */
function expectedSocketPath() {
  return new URL(`v1/database/${config.database}/subscribe`, config.url).pathname;
}

/**
 * Waits for the first ServerMessage on `socketRecord` matching `predicate`,
 * decoding frames as they arrive. Frames already received are not searched.
 */
function nextServerMessage(socketRecord, predicate, what) {
  let waiter;
  const found = new Promise((resolve, reject) => {
    waiter = frame => {
      try {
        if (frame.text) throw new Error('server sent a text frame');
        for (const message of decodeServerFrame(frame.bytes, socketRecord.negotiated)) {
          if (predicate(message)) resolve(message);
        }
      } catch (e) {
        reject(e);
      }
    };
    socketRecord.frameWaiters.add(waiter);
  });
  return withTimeout(found, what).finally(() => socketRecord.frameWaiters.delete(waiter));
}

after(() => closeAllSockets());

for (const { protocol, compression } of COMBINATIONS) {
  describe(`protocol ${protocol}, compression ${compression}`, { concurrency: 1 }, () => {
    const expectedProtocol = protocol === 'v3' ? V3_PROTOCOL : V2_PROTOCOL;
    const expectedCompressionParam = compression === 'gzip' ? 'Gzip' : 'None';
    // Connection A calls reducers; B only watches; C appears in the compression test.
    const state = { a: undefined, b: undefined };

    function need(key) {
      const entry = state[key];
      if (!entry) {
        throw new Error(`no connection ${key}: an earlier test in this group failed`);
      }
      return entry;
    }

    after(() => {
      for (const entry of Object.values(state)) {
        if (entry && entry.conn.isActive) entry.conn.disconnect();
      }
    });

    test('connects; onConnect reports an identity, token and connection id', { timeout: TEST_TIMEOUT_MS }, async () => {
      const a = await connect({ protocol, compression, confirmedReads: true });
      state.a = a;

      assert.ok(a.identity instanceof Identity, 'onConnect identity is an Identity');
      assert.match(a.identity.toHexString(), /^[0-9a-f]{64}$/);
      assert.notEqual(a.identity.toHexString(), '0'.repeat(64), 'identity is not zero');
      assert.equal(typeof a.token, 'string');
      assert.ok(a.token.length > 0, 'token is not empty');
      assert.equal(a.conn.isActive, true);
      assert.ok(a.conn.identity.isEqual(a.identity), 'conn.identity matches onConnect');
      assert.match(a.conn.connectionId.toHexString(), /^[0-9a-f]{32}$/);
      assert.notEqual(a.conn.connectionId.toHexString(), '0'.repeat(32), 'connection id is not zero');
    });

    test(`SDK opened ${expectedProtocol} with compression=${expectedCompressionParam}`, { timeout: TEST_TIMEOUT_MS }, () => {
      const { conn, socket } = need('a');
      assert.ok(socket, 'the recorder saw the socket');
      assert.equal(socket.url.pathname, expectedSocketPath());
      assert.equal(socket.url.searchParams.get('compression'), expectedCompressionParam);
      assert.equal(socket.url.searchParams.get('confirmed'), 'true');
      // SDK 2.10.1 drops connection_id while resolving the URL (wire ref 1.3).
      assert.equal(socket.url.searchParams.has('connection_id'), false);
      assert.deepEqual(socket.offeredBySdk, [V3_PROTOCOL, V2_PROTOCOL]);
      assert.deepEqual(
        socket.sent,
        protocol === 'v3' ? [V3_PROTOCOL, V2_PROTOCOL] : [V2_PROTOCOL]
      );
      assert.equal(socket.negotiated, expectedProtocol, 'Sec-WebSocket-Protocol chosen by the server');
      // The SDK's own socket adapter reports the same protocol it acts on.
      assert.equal(conn['ws'].protocol, expectedProtocol);
      assert.ok(socket.frames.length >= 1, 'InitialConnection arrived');
      assert.ok(socket.frames.every(f => !f.text), 'server sent only binary frames');
    });

    test(`seed(${SEED_N}, ${SEED_BALANCE}) succeeds`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const { conn } = need('a');
      const result = await withTimeout(
        conn.reducers.seed({ n: SEED_N, initialBalance: SEED_BALANCE }),
        'seed ReducerResult'
      );
      assert.equal(result, undefined);
    });

    test(`subscribing to "${ACCOUNTS_SQL}" fills the cache with ${SEED_N} rows of ${SEED_BALANCE}`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const { conn } = need('a');
      const handle = await subscribe(conn, ACCOUNTS_SQL);
      assert.equal(handle.isActive(), true);
      assert.equal(conn.db.accounts.count(), BigInt(SEED_N));
      assertBalances(balances(conn), seededBalances(SEED_N, SEED_BALANCE), 'A');
      // The primary-key index of the bindings answers point lookups.
      assert.deepEqual(conn.db.accounts.id.find(3), { id: 3, balance: SEED_BALANCE });
    });

    test('a second connection subscribes and sees the same rows', { timeout: TEST_TIMEOUT_MS }, async () => {
      need('a');
      const b = await connect({ protocol, compression });
      state.b = b;
      assert.ok(!b.identity.isEqual(state.a.identity), 'anonymous connections get distinct identities');
      assert.equal(b.socket.negotiated, expectedProtocol);
      // Without withConfirmedReads the SDK sends no preference at all.
      assert.equal(b.socket.url.searchParams.has('confirmed'), false);
      await subscribe(b.conn, ACCOUNTS_SQL);
      assertBalances(balances(b.conn), seededBalances(SEED_N, SEED_BALANCE), 'B');
    });

    test('transfer(1, 2, 5) succeeds; caller and other subscriber both see 995/1005', { timeout: TEST_TIMEOUT_MS }, async () => {
      const a = need('a');
      const b = need('b');
      const seen = { a: [], b: [], aInsertDelete: 0, bInsertDelete: 0 };
      const onA = (ctx, oldRow, newRow) => seen.a.push({ ctx, oldRow, newRow });
      const onB = (ctx, oldRow, newRow) => seen.b.push({ ctx, oldRow, newRow });
      const countA = () => seen.aInsertDelete++;
      const countB = () => seen.bInsertDelete++;
      a.conn.db.accounts.onUpdate(onA);
      b.conn.db.accounts.onUpdate(onB);
      a.conn.db.accounts.onInsert(countA);
      a.conn.db.accounts.onDelete(countA);
      b.conn.db.accounts.onInsert(countB);
      b.conn.db.accounts.onDelete(countB);
      try {
        await withTimeout(
          a.conn.reducers.transfer({ from: 1, to: 2, amount: 5n }),
          'transfer ReducerResult'
        );
        // The caller's update rides inside ReducerResult::Ok and is applied
        // before the call resolves, as one update per changed primary key.
        assertBalances(balances(a.conn), expectedAfterTransfer(), 'A');
        const aUpdates = seen.a
          .map(u => [u.oldRow.id, u.oldRow.balance, u.newRow.id, u.newRow.balance])
          .sort((x, y) => x[0] - y[0]);
        assert.deepEqual(aUpdates, [
          [1, 1000n, 1, 995n],
          [2, 1000n, 2, 1005n],
        ]);
        for (const { ctx } of seen.a) {
          assert.equal(ctx.event.tag, 'Reducer', "caller's row events come from its ReducerResult");
          assert.equal(ctx.event.value.reducer.name, 'transfer');
          assert.deepEqual(ctx.event.value.reducer.args, { from: 1, to: 2, amount: 5n });
          assert.equal(ctx.event.value.outcome.tag, 'Ok');
        }

        // The other subscriber gets a TransactionUpdate.
        const expected = expectedAfterTransfer();
        await waitUntil(
          () => balances(b.conn).get(1) === expected.get(1) && balances(b.conn).get(2) === expected.get(2),
          onAccountsChange(b.conn),
          'TransactionUpdate with the transfer on the second connection'
        );
        assertBalances(balances(b.conn), expected, 'B');
        assert.equal(seen.b.length, 2, 'B saw two row updates');
        for (const { ctx } of seen.b) {
          assert.equal(ctx.event.tag, 'Transaction', 'non-caller events come from a TransactionUpdate');
        }
        assert.equal(seen.a.length, 2, 'the caller is not sent a second copy of its update');
        assert.equal(seen.aInsertDelete, 0, 'no stray inserts/deletes on A');
        assert.equal(seen.bInsertDelete, 0, 'no stray inserts/deletes on B');
      } finally {
        a.conn.db.accounts.removeOnUpdate(onA);
        b.conn.db.accounts.removeOnUpdate(onB);
        a.conn.db.accounts.removeOnInsert(countA);
        a.conn.db.accounts.removeOnDelete(countA);
        b.conn.db.accounts.removeOnInsert(countB);
        b.conn.db.accounts.removeOnDelete(countB);
      }
    });

    test('module errors reject with SenderError carrying the exact error string', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { conn } = need('a');
      const cases = [
        [{ from: 3, to: 3, amount: 1n }, 'same_account'],
        [{ from: 1, to: 2, amount: 0n }, 'non_positive_amount'],
        [{ from: 1, to: 2, amount: -5n }, 'non_positive_amount'],
        [{ from: 1, to: 999, amount: 5n }, 'account_missing'],
        [{ from: 999, to: 1, amount: 5n }, 'account_missing'],
        [{ from: 1, to: 2, amount: 1_000_000_000_000n }, 'insufficient_funds'],
        // The module checks in this order: same account, amount, existence, funds.
        [{ from: 999, to: 999, amount: 0n }, 'same_account'],
        [{ from: 1, to: 999, amount: 0n }, 'non_positive_amount'],
        [{ from: 999, to: 1, amount: 1_000_000_000_000n }, 'account_missing'],
      ];
      let rowEvents = 0;
      const count = () => rowEvents++;
      conn.db.accounts.onInsert(count);
      conn.db.accounts.onDelete(count);
      conn.db.accounts.onUpdate(count);
      try {
        for (const [args, message] of cases) {
          const what = `transfer(${args.from}, ${args.to}, ${args.amount})`;
          await assertRejectsWith(
            withTimeout(conn.reducers.transfer(args), `${what} ReducerResult`),
            SenderError,
            message,
            what
          );
        }
      } finally {
        conn.db.accounts.removeOnInsert(count);
        conn.db.accounts.removeOnDelete(count);
        conn.db.accounts.removeOnUpdate(count);
      }
      assert.equal(rowEvents, 0, 'failed reducers changed no rows');
      assertBalances(balances(conn), expectedAfterTransfer(), 'A');
    });

    test('an unknown reducer rejects with InternalError "no such reducer"', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { conn } = need('a');
      // DbConnectionImpl.callReducer is public and sends any name verbatim.
      await assertRejectsWith(
        withTimeout(conn.callReducer('no_such_reducer', new Uint8Array(0)), 'ReducerResult for no_such_reducer'),
        InternalError,
        'no such reducer',
        'no_such_reducer()'
      );
    });

    test('undecodable reducer arguments reject with InternalError', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { conn } = need('a');
      await assertRejectsWith(
        withTimeout(conn.callReducer('transfer', Uint8Array.of(1, 2, 3)), 'ReducerResult for transfer with 3 arg bytes'),
        InternalError,
        m => m.startsWith('invalid arguments for reducer transfer'),
        'transfer(<3 bytes>)'
      );
      assert.equal(conn.isActive, true, 'the connection stays open');
    });

    test('one-off query (raw OneOffQuery; the SDK has no API for it) returns the table', { timeout: TEST_TIMEOUT_MS }, async () => {
      const a = need('a');
      const requestId = 0x4f4e4500; // far from the SDK's own request ids
      const logged = await captureSdkLog(async () => {
        const result = nextServerMessage(
          a.socket,
          m => m.kind === 'OneOffQueryResult' && m.requestId === requestId,
          'OneOffQueryResult'
        );
        // `ws` is the SDK's socket adapter; TypeScript-private, reachable from JS.
        a.conn['ws'].send(encodeOneOffQuery(requestId, ACCOUNTS_SQL));
        const message = await result;
        assert.equal(message.err, undefined, `one-off query failed: ${message.err}`);
        const tables = message.ok.filter(t => t.table === 'accounts');
        assert.ok(tables.length >= 1, 'result has rows for table accounts');
        const rows = [];
        for (const { rows: list } of tables) {
          const decoded = decodeAccountRows(list.rowsData);
          if (list.sizeHint.fixedSize !== undefined) {
            assert.equal(list.sizeHint.fixedSize, 12, 'accounts rows are 12 bytes');
          } else {
            assert.equal(list.sizeHint.rowOffsets.length, decoded.length, 'one offset per row');
          }
          rows.push(...decoded);
        }
        assertBalances(new Map(rows.map(r => [r.id, r.balance])), expectedAfterTransfer(), 'one-off result');
        // A round trip after the result proves the SDK consumed that frame
        // (it processes inbound messages strictly in order).
        await assertRejectsWith(
          withTimeout(a.conn.reducers.transfer({ from: 4, to: 4, amount: 1n }), 'round trip after one-off query'),
          SenderError,
          'same_account',
          'transfer(4, 4, 1)'
        );
      });
      // The SDK logs that warning only at level warn or chattier.
      if (['warn', 'info', 'debug', 'trace'].includes(config.sdkLogLevel)) {
        assert.ok(
          logged.some(l => l.includes('Received OneOffQueryResult')),
          'the SDK decoded the frame as a OneOffQueryResult (it logs that it has no API for it)'
        );
      }
    });

    test('a one-off query on an unknown table returns an error, not a disconnect', { timeout: TEST_TIMEOUT_MS }, async () => {
      const a = need('a');
      const requestId = 0x4f4e4501;
      await captureSdkLog(async () => {
        const result = nextServerMessage(
          a.socket,
          m => m.kind === 'OneOffQueryResult' && m.requestId === requestId,
          'OneOffQueryResult for an unknown table'
        );
        a.conn['ws'].send(encodeOneOffQuery(requestId, 'SELECT * FROM no_such_table'));
        const message = await result;
        assert.equal(message.ok, undefined, 'query on an unknown table must fail');
        assert.equal(typeof message.err, 'string');
        assert.ok(message.err.length > 0, 'error message is not empty');
      });
      assert.equal(a.conn.isActive, true);
    });

    test(`messages over ${COMPRESSION_THRESHOLD} bytes are ${compression === 'gzip' ? 'gzip-compressed' : 'sent uncompressed'}`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const a = need('a');
      const b = need('b');
      const firstNewFrameA = a.socket.frames.length;
      await withTimeout(
        a.conn.reducers.seed({ n: LARGE_SEED_N, initialBalance: LARGE_SEED_BALANCE }),
        `seed(${LARGE_SEED_N}) ReducerResult`
      );
      const large = seededBalances(LARGE_SEED_N, LARGE_SEED_BALANCE);
      assertBalances(balances(a.conn), large, 'A');
      await waitUntil(
        () => b.conn.db.accounts.count() === BigInt(LARGE_SEED_N) &&
          [...b.conn.db.accounts.iter()].every(r => r.balance === LARGE_SEED_BALANCE),
        onAccountsChange(b.conn),
        `TransactionUpdate with seed(${LARGE_SEED_N}) on the second connection`
      );

      // A fresh subscriber's SubscribeApplied carries all rows at once.
      const c = await connect({ protocol, compression });
      state.c = c;
      try {
        await subscribe(c.conn, ACCOUNTS_SQL);
        assertBalances(balances(c.conn), large, 'C');
      } finally {
        c.conn.disconnect();
      }

      const frames = [...a.socket.frames.slice(firstNewFrameA), ...c.socket.frames];
      let compressedFrames = 0;
      for (const frame of frames) {
        const bodyLength = decompressFrame(frame.bytes).length;
        if (compression === 'gzip') {
          assert.ok(frame.tag === 0 || frame.tag === 2, `frame tag ${frame.tag} with compression=Gzip`);
          if (frame.tag === 2) compressedFrames++;
          assert.equal(
            frame.tag,
            bodyLength > COMPRESSION_THRESHOLD ? 2 : 0,
            `a ${bodyLength}-byte body must ${bodyLength > COMPRESSION_THRESHOLD ? '' : 'not '}be compressed`
          );
        } else {
          assert.equal(frame.tag, 0, 'compression=None allows only tag 0');
        }
      }
      if (compression === 'gzip') {
        assert.ok(compressedFrames >= 2, 'the large ReducerResult and SubscribeApplied were compressed');
      }
      const subscribeApplied = c.socket.frames
        .flatMap(f => decodeServerFrame(f.bytes, c.socket.negotiated))
        .filter(m => m.kind === 'SubscribeApplied');
      assert.equal(subscribeApplied.length, 1, 'C received one SubscribeApplied');
    });

    test('every server frame so far is well formed for the negotiated protocol', { timeout: TEST_TIMEOUT_MS }, () => {
      // v2: exactly one ServerMessage per frame; v3: whole messages back to
      // back; both: a valid compression tag and no trailing bytes.
      for (const key of ['a', 'b', 'c']) {
        const { socket } = need(key);
        const messages = socket.frames.map((frame, i) => {
          assert.equal(frame.text, false, `${key} frame ${i} is binary`);
          try {
            return decodeServerFrame(frame.bytes, socket.negotiated);
          } catch (e) {
            assert.fail(`${key} frame ${i} (tag ${frame.tag}) does not decode: ${e.message}`);
          }
        });
        assert.ok(messages.length > 0, `${key} received frames`);
        assert.equal(messages[0][0].kind, 'InitialConnection', `${key}: the first message is InitialConnection`);
        const initials = messages.flat().filter(m => m.kind === 'InitialConnection');
        assert.equal(initials.length, 1, `${key}: exactly one InitialConnection`);
      }
    });

    test('disconnect() closes both connections cleanly', { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const key of ['a', 'b']) {
        const entry = need(key);
        entry.conn.disconnect();
        const error = await withTimeout(entry.disconnected, `onDisconnect of connection ${key}`);
        assert.equal(error, undefined, `onDisconnect of ${key} reports no error`);
        assert.equal(entry.conn.isActive, false);
        assert.equal(entry.socket.closed, true);
        assert.ok(
          entry.socket.closeCode === 1000 || entry.socket.closeCode === 1005,
          `close handshake completed (code ${entry.socket.closeCode}, 1006 means the TCP connection just dropped)`
        );
      }
      if (state.c) {
        await withTimeout(state.c.disconnected, 'onDisconnect of connection C');
      }
    });
  });
}
