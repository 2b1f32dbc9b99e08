// Shared plumbing for the conformance tests: configuration from the
// environment, bounded waits (every wait has a deadline so a broken server
// fails a test quickly instead of hanging it), and thin helpers around the
// SDK's connection and subscription builders. Nothing here sleeps: waits are
// driven by SDK callbacks and end at the first of "condition met", "error
// reported" or "deadline passed".

import { setGlobalLogLevel } from 'spacetimedb';
import { DbConnection } from '../module_bindings/index.js';
import {
  installRecordingWebSocket,
  nextSocket,
  restrictOfferedProtocols,
} from './ws_recorder.mjs';

/** Settings read from the environment once. */
export const config = Object.freeze({
  url: process.env.STDB_URL ?? '',
  database: process.env.STDB_DATABASE || 'test-1',
  timeoutMs: Number(process.env.STDB_TIMEOUT_MS || 5000),
  sdkLogLevel: process.env.STDB_SDK_LOG_LEVEL || 'warn',
});

// The SDK logs "Connecting to SpacetimeDB WS..." at info level for every
// connection; that noise would drown node:test's report.
setGlobalLogLevel(config.sdkLogLevel);

/**
 * Resolves or rejects like `promise`, but rejects with a message naming
 * `what` if it has not settled within `ms`.
 */
export function withTimeout(promise, what, ms = config.timeoutMs) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
      ms
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Waits until `predicate()` holds. `subscribe(check)` must register `check`
 * with whatever SDK callbacks can change the outcome and return a function
 * that unregisters them. The predicate is tested once immediately.
 */
export function waitUntil(predicate, subscribe, what, ms = config.timeoutMs) {
  let unsubscribe = () => {};
  const met = new Promise((resolve, reject) => {
    const check = () => {
      try {
        if (predicate()) resolve();
      } catch (e) {
        reject(e);
      }
    };
    unsubscribe = subscribe(check);
    check();
  });
  return withTimeout(met, what, ms).finally(() => unsubscribe());
}

/**
 * Opens a connection with the official SDK and waits for `onConnect`.
 * `protocol` is 'v3' (the SDK's unmodified offer) or 'v2' (offer restricted
 * to v2 only); `compression` is 'none' | 'gzip'. Resolves to
 * { conn, identity, token, socket, disconnected } where `socket` is the
 * recorder's entry for this connection and `disconnected` resolves with the
 * error (or undefined) passed to `onDisconnect`.
 */
export async function connect({ protocol, compression, confirmedReads }) {
  if (!config.url) {
    throw new Error(
      'STDB_URL is not set; export e.g. STDB_URL=ws://127.0.0.1:3000'
    );
  }
  await installRecordingWebSocket();
  restrictOfferedProtocols(protocol === 'v2' ? ['v2.bsatn.spacetimedb'] : null);

  // Connections are opened one at a time, so the next socket constructed
  // belongs to this connection.
  const socketPromise = nextSocket();
  let resolveDisconnected;
  const disconnected = new Promise(r => (resolveDisconnected = r));
  const connected = new Promise((resolve, reject) => {
    let builder = DbConnection.builder()
      .withUri(config.url)
      .withDatabaseName(config.database)
      .withCompression(compression)
      .onConnect((conn, identity, token) => resolve({ conn, identity, token }))
      .onConnectError((_ctx, error) =>
        reject(
          new Error(
            `could not connect to ${config.url} (database ${config.database}): ` +
              `${error?.message || error}`,
            { cause: error }
          )
        )
      )
      .onDisconnect((_ctx, error) => {
        resolveDisconnected(error);
        reject(new Error(`connection to ${config.url} closed before onConnect`));
      });
    if (confirmedReads !== undefined) {
      builder = builder.withConfirmedReads(confirmedReads);
    }
    builder.build();
  });
  const socketFailed = socketPromise.then(record =>
    record.failure.then(error => {
      throw new Error(
        `could not connect to ${config.url} (database ${config.database}): ` +
          `${error.message} — connection refused, or the upgrade was answered ` +
          'with a non-101 status (e.g. 400 when no offered subprotocol is ' +
          'accepted, 404 for an unknown database)'
      );
    })
  );
  const { conn, identity, token } = await withTimeout(
    Promise.race([connected, socketFailed]),
    `onConnect from ${config.url}`
  );
  const socket = await socketPromise;
  return { conn, identity, token, socket, disconnected };
}

/**
 * Subscribes `conn` to `sql` and waits for `onApplied`; a SubscriptionError
 * rejects. Resolves to the subscription handle.
 */
export function subscribe(conn, sql) {
  const applied = new Promise((resolve, reject) => {
    const handle = conn
      .subscriptionBuilder()
      .onApplied(() => resolve(handle))
      .onError((_ctx, error) =>
        reject(new Error(`subscription "${sql}" failed: ${error?.message}`))
      )
      .subscribe(sql);
  });
  return withTimeout(applied, `SubscribeApplied for "${sql}"`);
}

/** The client cache of `accounts` as a Map id -> balance (bigint). */
export function balances(conn) {
  const out = new Map();
  for (const row of conn.db.accounts.iter()) out.set(row.id, row.balance);
  return out;
}

/**
 * Registers `check` on every row callback of `accounts` and returns the
 * matching unregister function; for use with waitUntil.
 */
export function onAccountsChange(conn) {
  return check => {
    const table = conn.db.accounts;
    table.onInsert(check);
    table.onDelete(check);
    table.onUpdate(check);
    return () => {
      table.removeOnInsert(check);
      table.removeOnDelete(check);
      table.removeOnUpdate(check);
    };
  };
}

/**
 * Collects what the SDK logs (it logs through console.log) while `fn` runs,
 * so a test can see messages such as the one it prints for a
 * OneOffQueryResult. Restores console.log afterwards.
 */
export async function captureSdkLog(fn) {
  const lines = [];
  const original = console.log;
  console.log = (...args) => lines.push(args.map(String).join(' '));
  try {
    await fn(lines);
  } finally {
    console.log = original;
  }
  return lines;
}
