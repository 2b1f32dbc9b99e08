// The original harness's SpacetimeDB connector (src/connectors/spacetimedb.ts)
// as far as the distributed harness uses it: one official-SDK connection per
// worker, `transfer` calls, and the coordinator's verification pass over a
// subscription to `accounts` (spacetimedb-wire.md §8.3, §8.7). It runs on the
// `spacetimedb` package and the hand-written bindings of tests/conformance
// (installed there by scripts/setup.sh), which is why it loads them by path:
// this directory has no node_modules of its own and adds no dependency.

import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { websocketUrl } from './util.mjs';

const conformanceDir = process.env.BENCH_DIST_CONFORMANCE_DIR
  ? pathToFileURL(`${process.env.BENCH_DIST_CONFORMANCE_DIR.replace(/\/$/, '')}/`)
  : new URL('../../conformance/', import.meta.url);

let loaded = null;

// The SDK's ESM entry (the one module_bindings' `import 'spacetimedb'`
// resolves to, so both share one module instance) and the bindings.
async function load() {
  if (loaded) return loaded;
  const packageDir = new URL('node_modules/spacetimedb/', conformanceDir);
  let manifest;
  try {
    manifest = JSON.parse(await readFile(new URL('package.json', packageDir), 'utf8'));
  } catch (err) {
    throw new Error(
      `the spacetimedb SDK is not installed in ${new URL('node_modules/', conformanceDir).pathname} ` +
        `(scripts/setup.sh runs npm ci there): ${err.message}`,
    );
  }
  const entry = manifest.exports?.['.']?.import ?? manifest.module;
  const sdk = await import(new URL(entry, packageDir).href);
  const bindings = await import(new URL('module_bindings/index.js', conformanceDir).href);
  // The SDK logs every connection attempt at info level; the original's
  // output had that too, but with many connections it buries what matters.
  sdk.setGlobalLogLevel(process.env.STDB_SDK_LOG_LEVEL || 'warn');
  loaded = { sdk, DbConnection: bindings.DbConnection };
  return loaded;
}

// Everything the connector takes: host ("host[:port]"), database,
// compression (undefined: do not call withCompression, so the SDK's default
// gzip is used, as the first revision did), confirmed reads, and whether to
// subscribe to accounts (the original's VERIFY=1).
export async function openConnection({ host, database, compression, confirmedReads, subscribeAccounts = false }) {
  const { DbConnection } = await load();
  let conn;
  let closed;
  const disconnected = new Promise(resolve => (closed = resolve));
  const connected = new Promise((resolve, reject) => {
    let builder = DbConnection.builder().withUri(websocketUrl(host)).withDatabaseName(database);
    if (compression !== undefined) builder = builder.withCompression(compression);
    builder = builder
      .withConfirmedReads(confirmedReads)
      .onConnect(ctx => {
        if (!subscribeAccounts) {
          resolve();
          return;
        }
        ctx
          .subscriptionBuilder()
          .onApplied(() => resolve())
          .onError(errCtx => reject(new Error(`subscription to accounts failed: ${errCtx.event?.message}`)))
          .subscribe(['SELECT * FROM accounts']);
      })
      .onConnectError((_ctx, err) => {
        const message = err?.message ?? err?.error?.message ?? JSON.stringify(err);
        reject(new Error(`Spacetime connection error: ${message}`));
      })
      .onDisconnect(() => {
        closed();
        reject(new Error(`connection to ${host}/${database} closed before it was ready`));
      });
    conn = builder.build();
  });
  await connected;
  return {
    // Resolves when the server answered: committed, or a rejected Error
    // for a failed reducer (e.g. insufficient funds).
    transfer: (from, to, amount) => conn.reducers.transfer({ from, to, amount: BigInt(amount) }),
    accounts: () => conn.db.accounts,
    // Resolves when the connection is closed (after the close handshake),
    // or after 2 s at most.
    close: async () => {
      try {
        conn.disconnect();
      } catch (err) {
        console.error('[spacetimedb] close() failed:', err);
        return;
      }
      let timer;
      await Promise.race([disconnected, new Promise(resolve => (timer = setTimeout(resolve, 2000)))]);
      clearTimeout(timer);
    },
  };
}

// The coordinator's verification (§8.7): every account's balance summed
// must equal initial x count, and some balance must have changed. An unset
// or zero initial balance skips the check (it counts as passed).
export async function verifyAccounts({ host, database, compression, confirmedReads, initialBalance }) {
  const conn = await openConnection({ host, database, compression, confirmedReads, subscribeAccounts: true });
  try {
    if (!initialBalance) {
      console.warn('[spacetimedb] SEED_INITIAL_BALANCE not set; skipping verification');
      return;
    }
    const initial = BigInt(initialBalance);
    let count = 0n;
    let total = 0n;
    let changed = 0n;
    for (const row of conn.accounts().iter()) {
      count += 1n;
      total += row.balance;
      if (row.balance !== initial) changed += 1n;
    }
    if (count === 0n) throw new Error('spacetimedb verification failed: no accounts');
    if (total !== initial * count) {
      console.error(
        `[spacetimedb] verify failed: accounts=${count} total_balance=${total} expected=${initial * count}`,
      );
      throw new Error('spacetimedb verification failed: total_balance mismatch');
    }
    if (changed === 0n) throw new Error('spacetimedb verification failed: no account balances changed');
    console.log(`[spacetimedb] verify ok: accounts=${count} total_balance=${total} changed=${changed}`);
  } finally {
    await conn.close();
  }
}
