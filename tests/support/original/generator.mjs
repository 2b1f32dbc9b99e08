// Test double of the original harness's bench-dist-generator
// (templates/keynote-2/src/distributed/generator.ts and loadSession.ts),
// written from spacetimedb-wire.md §8.3, §8.6, §8.8. `--revision first`
// plays 5c6f308b7: it starts its load when it sees phase "warmup" and posts
// no /started, and never calls withCompression (the SDK's gzip).
// `--revision final` (the default) plays eb0645ced^: it starts on phase
// "starting", then posts /started, and honours --stdb-compression.
//
// The loop is the original's: register (retried), open every connection
// (bounded parallelism: --open-parallelism lanes, each opening its share
// one after another), ready (retried), then until SIGINT/SIGTERM: GET
// /state (retried), start or stop the load, sleep --poll-ms. On the way out
// it stops an active epoch (posting /stopped) and closes its connections.
// Every control call is retried --control-retries times in all, --poll-ms
// apart; when they are used up the process exits 1, so a double never
// outlives the coordinator it was given.
//
// Deviations, none visible to a coordinator:
// - Transfer pairs are drawn at random (distinct accounts in [0, accounts))
//   instead of from the precomputed Zipf table: these doubles test the
//   control plane and the counts, which do not depend on the distribution.
// - After a failed call a worker yields to the event loop once, so calls
//   that fail at once (a dead connection) cannot starve timers and signals.
// - A second SIGINT/SIGTERM exits at once (the original only ever sets its
//   stop flag), so a double stuck opening connections can still be ended.
// - No .env loading (dotenv): tests pass the environment directly.

import { hostname as osHostname } from 'node:os';
import { getNumberFlag, getRevision, getStringFlag, parseArgs } from './args.mjs';
import { openConnection } from './stdb.mjs';
import { getJson, normalizeStdbUrl, postJson, retryUntilSuccess, sleep } from './util.mjs';

function readBooleanEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  return !(raw === '0' || raw === '' || raw === 'false');
}

function opTimeoutMs() {
  const value = Number(process.env.BENCH_OP_TIMEOUT_MS ?? '15000');
  return Number.isFinite(value) ? value : 15000;
}

// Rejects after ms unless the promise settles first; like the original it
// does not cancel the call, so a timed-out call may still be in flight.
async function withOpTimeout(promise, label, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} timed out after ${ms}ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class LoadSession {
  constructor({ connect, concurrency, accounts, openParallelism }) {
    this.connect = connect;
    this.concurrency = concurrency;
    this.accounts = accounts;
    this.lanes = Math.min(Math.max(1, Math.floor(openParallelism)), concurrency);
    this.conns = new Array(concurrency).fill(undefined);
    this.run = null;
    this.timeoutMs = opTimeoutMs();
  }

  get openedConnections() {
    return this.conns.filter(Boolean).length;
  }

  async open() {
    if (this.openedConnections === this.concurrency) return;
    console.log(`[distributed] opening ${this.concurrency} connections with parallelism ${this.lanes}...`);
    const lane = async l => {
      for (let i = l; i < this.concurrency; i += this.lanes) this.conns[i] = await this.connect();
    };
    try {
      await Promise.all(Array.from({ length: this.lanes }, (_, l) => lane(l)));
      console.log(`[distributed] opened ${this.openedConnections} connections`);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  startEpoch(epoch) {
    if (this.openedConnections !== this.concurrency) {
      throw new Error(
        `Cannot start epoch ${epoch}: expected ${this.concurrency} open connections, got ${this.openedConnections}`,
      );
    }
    if (this.run) throw new Error(`Cannot start epoch ${epoch}: already running epoch ${this.run.epoch}`);
    const run = { epoch, stopRequested: false, workers: [] };
    this.run = run;
    run.workers = this.conns.map((conn, w) => this.worker(conn, w, run));
  }

  async stopEpoch() {
    const run = this.run;
    if (!run) return;
    run.stopRequested = true;
    await Promise.all(run.workers);
    if (this.run === run) this.run = null;
  }

  async close() {
    await this.stopEpoch();
    const open = this.conns.filter(Boolean);
    this.conns.fill(undefined);
    await Promise.all(open.map(conn => conn.close()));
  }

  // Closed loop: one transfer of amount 1 in flight per connection, the next
  // one sent when it settles; failures (insufficient funds, timeouts) are
  // swallowed, logged only with LOG_ERRORS=1, as in the original.
  async worker(conn, w, run) {
    while (!run.stopRequested) {
      const from = Math.floor(Math.random() * this.accounts);
      let to = Math.floor(Math.random() * (this.accounts - 1));
      if (to >= from) to += 1;
      try {
        await withOpTimeout(
          conn.transfer(from, to, 1),
          `[distributed] worker ${w} transfer ${from}->${to}`,
          this.timeoutMs,
        );
      } catch (err) {
        if (process.env.LOG_ERRORS === '1') {
          console.warn(`[distributed] worker ${w} failed ${from}->${to}: ${err instanceof Error ? err.message : err}`);
        }
        // Not the original's: a call on a dead connection can fail at once,
        // and a loop of those would starve timers and signal handlers.
        await new Promise(resolve => setImmediate(resolve));
      }
    }
  }
}

async function main() {
  const { flags } = parseArgs(process.argv.slice(2));
  const revision = getRevision(flags);
  const coordinatorUrl = getStringFlag(flags, 'coordinator-url', 'http://127.0.0.1:8080');
  getStringFlag(flags, 'test', 'test-1');
  const connector = getStringFlag(flags, 'connector', 'spacetimedb');
  if (connector !== 'spacetimedb') {
    throw new Error(`Distributed generator currently supports only --connector spacetimedb, got ${connector}`);
  }
  const id = getStringFlag(flags, 'id', `${osHostname()}-${process.pid.toString(10)}`);
  const hostname = getStringFlag(flags, 'hostname', osHostname());
  const concurrency = getNumberFlag(flags, 'concurrency');
  const accounts = getNumberFlag(
    flags,
    'accounts',
    process.env.SEED_ACCOUNTS ? Number(process.env.SEED_ACCOUNTS) : 100_000,
  );
  getNumberFlag(flags, 'alpha', 1.5);
  const openParallelism = getNumberFlag(flags, 'open-parallelism', 128);
  const pollMs = getNumberFlag(flags, 'poll-ms', 1000);
  const controlRetries = getNumberFlag(flags, 'control-retries', 3);
  const stdbUrl = normalizeStdbUrl(getStringFlag(flags, 'stdb-url', process.env.STDB_URL ?? 'ws://127.0.0.1:3000'));
  const moduleName = getStringFlag(flags, 'stdb-module', process.env.STDB_MODULE ?? 'test-1');
  let compression;
  if (revision === 'final') {
    compression = getStringFlag(flags, 'stdb-compression', process.env.STDB_COMPRESSION ?? 'none');
    if (compression !== 'none' && compression !== 'gzip') {
      throw new Error(`invalid value for --stdb-compression: ${compression} (expected one of: none, gzip)`);
    }
  }
  const confirmedReads = readBooleanEnv('STDB_CONFIRMED_READS', true);
  // The phase in which a participant starts its load.
  const startPhase = revision === 'first' ? 'warmup' : 'starting';

  const session = new LoadSession({
    connect: () => openConnection({ host: stdbUrl, database: moduleName, compression, confirmedReads }),
    concurrency,
    accounts,
    openParallelism,
  });

  let activeEpoch = null;
  let stopping = false;
  const keepRetrying = () => !stopping;

  const startActiveEpoch = async epoch => {
    console.log(`[generator ${id}] starting epoch ${epoch}`);
    session.startEpoch(epoch);
    activeEpoch = epoch;
    if (revision === 'final') {
      await retryUntilSuccess(
        '[generator] started',
        () => postJson(coordinatorUrl, '/started', { id, epoch }),
        pollMs,
        controlRetries,
        keepRetrying,
      );
    }
  };

  // Retried even after a stop signal: the coordinator waits for it.
  const stopActiveEpoch = async () => {
    if (activeEpoch == null) return;
    const epoch = activeEpoch;
    activeEpoch = null;
    console.log(`[generator ${id}] stopping epoch ${epoch}`);
    await session.stopEpoch();
    await retryUntilSuccess(
      '[generator] stopped',
      () => postJson(coordinatorUrl, '/stopped', { id, epoch }),
      pollMs,
      controlRetries,
    );
  };

  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
    });
  }

  try {
    await retryUntilSuccess(
      '[generator] register',
      () => postJson(coordinatorUrl, '/register', { id, hostname, desiredConnections: concurrency }),
      pollMs,
      controlRetries,
      keepRetrying,
    );
    await session.open();
    await retryUntilSuccess(
      '[generator] ready',
      () => postJson(coordinatorUrl, '/ready', { id, openedConnections: session.openedConnections }),
      pollMs,
      controlRetries,
      keepRetrying,
    );
    const tail = revision === 'final' ? ` compression=${compression}` : '';
    console.log(
      `[generator ${id}] ready with ${session.openedConnections} connections to ${stdbUrl}/${moduleName}${tail}`,
    );

    while (!stopping) {
      const state = await retryUntilSuccess(
        '[generator] fetch state',
        () => getJson(coordinatorUrl, '/state'),
        pollMs,
        controlRetries,
        keepRetrying,
      );
      if (activeEpoch == null) {
        if (state.phase === startPhase && state.currentEpoch != null && state.participants.includes(id)) {
          await startActiveEpoch(state.currentEpoch);
        }
      } else {
        const keepRunning =
          state.currentEpoch === activeEpoch &&
          state.participants.includes(id) &&
          (state.phase === startPhase || state.phase === 'measure');
        if (!keepRunning) await stopActiveEpoch();
      }
      await sleep(pollMs);
    }
  } catch (err) {
    if (!stopping) throw err;
  } finally {
    await stopActiveEpoch();
    await session.close();
  }
}

main()
  .catch(err => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  })
  // The original exits when nothing is left to do; an idle keep-alive
  // socket of fetch or a closing WebSocket must not keep this one alive.
  .finally(() => process.exit());
