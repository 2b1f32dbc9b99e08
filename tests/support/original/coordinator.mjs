// Test double of the original harness's bench-dist-coordinator
// (templates/keynote-2/src/distributed/coordinator.ts), written from
// spacetimedb-wire.md §8.2, §8.5-§8.7, §8.9. `--revision first` plays
// 5c6f308b7 (phase "warmup", --warmup-seconds default 15, participants go
// straight to "running", no /started route, results carry warmupSeconds);
// `--revision final` (the default) plays eb0645ced^ (phase "starting", a
// start barrier on POST /started, --start-ack-timeout-seconds,
// --stdb-compression). Routes, JSON key order, status codes and error texts
// are the original's; so is the timing: 250 ms polls for acknowledgements,
// counter reads taken after each fetch returns.
//
// Deviations, all for tests and none on the wire:
// - The listening line shows the port actually bound, so `--port 0` works
//   (the original printed the --port it was given).
// - `--log-requests` (ignored by the original's parser, like any unknown
//   flag) prints "[coordinator] request POST <path>[ id=<id>][ epoch=<n>]"
//   per POST (and "... (unknown route)" per request to no route), so a test
//   can count acknowledgements; GETs are too many to log.
// - No .env loading (dotenv): tests pass the environment directly.
// Like the original it has no signal handler: SIGTERM/SIGINT end it at once.

import { createServer } from 'node:http';
import { join } from 'node:path';
import { getBoolFlag, getNumberFlag, getRevision, getStringFlag, getStringListFlag, parseArgs } from './args.mjs';
import { verifyAccounts } from './stdb.mjs';
import { isoNow, normalizeStdbUrl, prettyJson, readCommittedTransfers, sleep, writeJsonFile } from './util.mjs';

const ACK_POLL_MS = 250;

function readBooleanEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  return !(raw === '0' || raw === '' || raw === 'false');
}

function readNumberEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  return Number.isFinite(value) ? value : fallback;
}

function parseCompression(raw, label) {
  if (raw === 'none' || raw === 'gzip') return raw;
  throw new Error(`invalid value for ${label}: ${raw} (expected one of: none, gzip)`);
}

class Coordinator {
  constructor(o) {
    this.o = o;
    this.generators = new Map();
    this.phase = 'idle';
    this.current = null;
    this.nextEpoch = 1;
    this.lastResult = null;
    this.task = null;
  }

  get first() {
    return this.o.revision === 'first';
  }

  snapshot() {
    const generators = Array.from(this.generators.values())
      .sort((a, b) => a.id.localeCompare(b.id))
      .map(g => ({
        id: g.id,
        hostname: g.hostname,
        desiredConnections: g.desiredConnections,
        openedConnections: g.openedConnections,
        localState: g.localState,
        activeEpoch: g.activeEpoch,
      }));
    return {
      phase: this.phase,
      currentEpoch: this.current?.epoch ?? null,
      currentLabel: this.current?.label ?? null,
      participants: this.current?.participantIds ?? [],
      test: this.o.test,
      connector: this.o.connector,
      generators,
      lastResult: this.lastResult,
    };
  }

  requireGenerator(id) {
    const g = this.generators.get(id);
    if (!g) throw new Error(`Unknown generator "${id}"`);
    return g;
  }

  // Registering again resets the record, even mid-epoch.
  register(body) {
    this.generators.set(body.id, {
      id: body.id,
      hostname: body.hostname,
      desiredConnections: body.desiredConnections,
      openedConnections: 0,
      localState: 'registered',
      activeEpoch: null,
    });
    return this.snapshot();
  }

  ready(body) {
    const g = this.requireGenerator(body.id);
    g.openedConnections = body.openedConnections;
    g.localState = 'ready';
    g.activeEpoch = null;
    return this.snapshot();
  }

  started(body) {
    const g = this.requireGenerator(body.id);
    if (!this.current || body.epoch !== this.current.epoch) {
      throw new Error(`Generator "${body.id}" acknowledged unexpected epoch ${body.epoch}`);
    }
    if (g.activeEpoch !== body.epoch) {
      throw new Error(`Generator "${body.id}" is not assigned to epoch ${body.epoch}`);
    }
    g.localState = 'running';
    this.current.startAcks.add(body.id);
    return this.snapshot();
  }

  // Any epoch is accepted; only the current one counts as an acknowledgement.
  stopped(body) {
    const g = this.requireGenerator(body.id);
    g.localState = 'ready';
    g.activeEpoch = null;
    if (this.current && body.epoch === this.current.epoch) this.current.stopAcks.add(body.id);
    return this.snapshot();
  }

  startEpoch(body) {
    if (this.phase !== 'idle' || this.current || this.task) {
      return { started: false, message: `Coordinator is busy in phase ${this.phase}`, state: this.snapshot() };
    }
    const requested = body.generatorIds?.length ? new Set(body.generatorIds) : null;
    const eligible = Array.from(this.generators.values()).filter(
      g => (!requested || requested.has(g.id)) && g.localState === 'ready',
    );
    if (requested) {
      const seen = new Set(eligible.map(g => g.id));
      const missing = Array.from(requested).filter(id => !seen.has(id));
      if (missing.length > 0) {
        return {
          started: false,
          message: `Requested generators are not ready: ${missing.join(', ')}`,
          state: this.snapshot(),
        };
      }
    }
    if (eligible.length === 0) {
      return { started: false, message: 'No ready generators available for the next epoch', state: this.snapshot() };
    }

    const epoch = {
      epoch: this.nextEpoch++,
      label: body.label ?? null,
      participantIds: eligible.map(g => g.id).sort(),
      participantConnections: eligible.reduce((sum, g) => sum + g.openedConnections, 0),
      startAcks: new Set(),
      stopAcks: new Set(),
    };
    for (const id of epoch.participantIds) {
      const g = this.generators.get(id);
      g.localState = this.first ? 'running' : 'starting';
      g.activeEpoch = epoch.epoch;
    }
    this.current = epoch;
    this.phase = this.first ? 'warmup' : 'starting';
    this.task = this.runEpoch(epoch)
      .catch(err => {
        console.error(`[coordinator] epoch ${epoch.epoch} failed: ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => {
        this.phase = 'idle';
        this.current = null;
        this.task = null;
      });
    console.log(
      `[coordinator] starting epoch ${epoch.epoch} with ${epoch.participantIds.length} generators and ${epoch.participantConnections} total connections`,
    );
    return { started: true, message: `Epoch ${epoch.epoch} started`, state: this.snapshot() };
  }

  // Polls every 250 ms until every participant is in `acks` or the timeout
  // passes; returns the missing ids.
  async waitForAcks(epoch, acks, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (acks.size >= epoch.participantIds.length) return [];
      await sleep(ACK_POLL_MS);
    }
    const pending = epoch.participantIds.filter(id => !acks.has(id));
    console.warn(`[coordinator] ${what} acknowledgements timed out for epoch ${epoch.epoch}: ${pending.join(', ')}`);
    return pending;
  }

  async runEpoch(epoch) {
    const o = this.o;
    let before = 0n;
    let after = 0n;
    let measuredAtMs = 0;
    let finishedAtMs = 0;
    let verification = 'skipped';
    let verificationError;
    let error;

    try {
      if (this.first) {
        console.log(`[coordinator] epoch ${epoch.epoch} warmup for ${(o.warmupMs / 1000).toFixed(1)}s`);
        await sleep(o.warmupMs);
      } else {
        console.log(
          `[coordinator] epoch ${epoch.epoch} waiting for start acknowledgements from ${epoch.participantIds.length} generators`,
        );
        const pending = await this.waitForAcks(epoch, epoch.startAcks, o.startAckTimeoutMs, 'start');
        if (pending.length > 0) throw new Error(`Missing start acknowledgements from: ${pending.join(', ')}`);
      }

      const start = await readCommittedTransfers(o.stdbUrl);
      if (start == null) throw new Error('Failed to read spacetime committed transfer counter at measurement start');
      before = start;
      measuredAtMs = Date.now();
      this.phase = 'measure';
      console.log(`[coordinator] epoch ${epoch.epoch} measure start: committed=${before}`);
      await sleep(o.windowMs);

      const end = await readCommittedTransfers(o.stdbUrl);
      if (end == null) throw new Error('Failed to read spacetime committed transfer counter at measurement end');
      after = end;
      finishedAtMs = Date.now();
      this.phase = 'stop';
      console.log(`[coordinator] epoch ${epoch.epoch} measure end: committed=${after}`);

      const pendingStops = await this.waitForAcks(epoch, epoch.stopAcks, o.stopAckTimeoutMs, 'stop');
      if (pendingStops.length > 0) error = `Missing stop acknowledgements from: ${pendingStops.join(', ')}`;

      if (o.verify) {
        try {
          await verifyAccounts({
            host: o.stdbUrl,
            database: o.moduleName,
            compression: o.compression,
            confirmedReads: o.confirmedReads,
            initialBalance: o.initialBalance,
          });
          verification = 'passed';
        } catch (err) {
          verification = 'failed';
          verificationError = err instanceof Error ? err.message : String(err);
          console.error(`[coordinator] verification failed after epoch ${epoch.epoch}: ${verificationError}`);
        }
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      finishedAtMs = finishedAtMs || Date.now();
      this.phase = 'stop';
      console.error(`[coordinator] epoch ${epoch.epoch} error: ${error}`);
      const pendingStops = await this.waitForAcks(epoch, epoch.stopAcks, o.stopAckTimeoutMs, 'stop');
      if (pendingStops.length > 0) error = `${error}; missing stop acknowledgements from: ${pendingStops.join(', ')}`;
    }

    const actualWindowSeconds =
      measuredAtMs > 0 && finishedAtMs >= measuredAtMs ? (finishedAtMs - measuredAtMs) / 1000 : o.windowMs / 1000;
    const delta = after >= before ? after - before : 0n;
    const tps = actualWindowSeconds > 0 ? Number(delta) / actualWindowSeconds : 0;

    // Key order is the original's; undefined optional keys vanish in
    // JSON.stringify, as there.
    const result = {
      epoch: epoch.epoch,
      label: epoch.label,
      test: o.test,
      connector: o.connector,
      ...(this.first ? { warmupSeconds: o.warmupMs / 1000 } : {}),
      windowSeconds: o.windowMs / 1000,
      actualWindowSeconds,
      participantIds: epoch.participantIds,
      participantConnections: epoch.participantConnections,
      measuredAt: measuredAtMs > 0 ? isoNow(measuredAtMs) : isoNow(),
      finishedAt: isoNow(finishedAtMs || Date.now()),
      committedBefore: before.toString(),
      committedAfter: after.toString(),
      committedDelta: delta.toString(),
      tps,
      verification,
      verificationError,
      error,
    };
    this.lastResult = result;

    const name = `${o.test}-${o.connector}-epoch-${String(result.epoch).padStart(3, '0')}-${result.finishedAt.replace(/[:.]/g, '-')}.json`;
    const outPath = join(o.resultsDir, name);
    await writeJsonFile(outPath, result);
    console.log(`[coordinator] wrote epoch ${result.epoch} result to ${outPath}`);
  }
}

function respond(res, status, body) {
  const payload = prettyJson(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

async function readJsonBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const raw = Buffer.concat(chunks).toString('utf8').trim();
  if (!raw) throw new Error('Request body is empty');
  return JSON.parse(raw);
}

async function main() {
  const { flags } = parseArgs(process.argv.slice(2));
  const revision = getRevision(flags);
  const bind = getStringFlag(flags, 'bind', '0.0.0.0');
  const port = getNumberFlag(flags, 'port', 8080);
  const test = getStringFlag(flags, 'test', 'test-1');
  const connector = getStringFlag(flags, 'connector', 'spacetimedb');
  if (connector !== 'spacetimedb') {
    throw new Error(`Distributed coordinator currently supports only --connector spacetimedb, got ${connector}`);
  }
  // The original's default is runs/distributed/ beside its sources.
  const resultsDir = getStringFlag(
    flags,
    'results-dir',
    new URL('../../../runs/distributed/', import.meta.url).pathname,
  );
  const warmupSeconds = revision === 'first' ? getNumberFlag(flags, 'warmup-seconds', 15) : 0;
  const startAckTimeoutSeconds = revision === 'final' ? getNumberFlag(flags, 'start-ack-timeout-seconds', 60) : 0;
  const windowSeconds = getNumberFlag(flags, 'window-seconds', 60);
  const stopAckTimeoutSeconds = getNumberFlag(flags, 'stop-ack-timeout-seconds', 60);
  const verify = getBoolFlag(flags, 'verify', false);
  const stdbUrl = normalizeStdbUrl(getStringFlag(flags, 'stdb-url', process.env.STDB_URL ?? 'ws://127.0.0.1:3000'));
  const moduleName = getStringFlag(flags, 'stdb-module', process.env.STDB_MODULE ?? 'test-1');
  // The first revision never called withCompression: the SDK's gzip.
  const compression =
    revision === 'final'
      ? parseCompression(
          getStringFlag(flags, 'stdb-compression', process.env.STDB_COMPRESSION ?? 'none'),
          '--stdb-compression',
        )
      : undefined;
  const initialIds = getStringListFlag(flags, 'generator-ids');
  const logRequests = flags.has('log-requests');

  const coordinator = new Coordinator({
    revision,
    test,
    connector,
    resultsDir,
    warmupMs: warmupSeconds * 1000,
    startAckTimeoutMs: startAckTimeoutSeconds * 1000,
    windowMs: windowSeconds * 1000,
    stopAckTimeoutMs: stopAckTimeoutSeconds * 1000,
    verify,
    stdbUrl,
    moduleName,
    compression,
    confirmedReads: readBooleanEnv('STDB_CONFIRMED_READS', true),
    initialBalance: readNumberEnv('SEED_INITIAL_BALANCE', 10_000_000),
  });

  const routes = new Map([
    ['POST /register', body => coordinator.register(body)],
    ['POST /ready', body => coordinator.ready(body)],
    ['POST /stopped', body => coordinator.stopped(body)],
  ]);
  if (revision === 'final') routes.set('POST /started', body => coordinator.started(body));

  const server = createServer(async (req, res) => {
    try {
      const method = req.method ?? 'GET';
      const path = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`).pathname;
      const route = `${method} ${path}`;
      if (route === 'GET /healthz') {
        respond(res, 200, { ok: true });
        return;
      }
      if (route === 'GET /state' || route === 'GET /admin/status') {
        respond(res, 200, coordinator.snapshot());
        return;
      }
      const handler = routes.get(route);
      if (handler) {
        const body = await readJsonBody(req);
        if (logRequests) {
          console.log(
            `[coordinator] request ${route} id=${body.id}${body.epoch !== undefined ? ` epoch=${body.epoch}` : ''}`,
          );
        }
        respond(res, 200, handler(body));
        return;
      }
      if (route === 'POST /admin/start-epoch') {
        // A body is read only when content-length says there is one.
        const length = req.headers['content-length'];
        const body = length == null || length === '0' ? { generatorIds: initialIds } : await readJsonBody(req);
        if (logRequests) console.log(`[coordinator] request ${route}`);
        respond(res, 200, coordinator.startEpoch({ label: body.label, generatorIds: body.generatorIds ?? initialIds }));
        return;
      }
      if (logRequests) console.log(`[coordinator] request ${route} (unknown route)`);
      respond(res, 404, { error: `Unknown route: ${method} ${path}` });
    } catch (err) {
      respond(res, 400, { error: err instanceof Error ? err.message : String(err) });
    }
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bind, () => resolve());
  });
  const boundPort = server.address().port;
  const timing = revision === 'first' ? `warmup=${warmupSeconds}s` : `start_ack_timeout=${startAckTimeoutSeconds}s`;
  const tail = revision === 'final' ? ` compression=${compression}` : '';
  console.log(
    `[coordinator] listening on http://${bind}:${boundPort} test=${test} connector=${connector} ${timing} window=${windowSeconds}s verify=${verify ? 'on' : 'off'} stdb=${stdbUrl}${tail}`,
  );
}

main().catch(err => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
