// What the original harness's three programs share (spacetimedb-wire.md
// §8.5-§8.9): its control-plane HTTP client (Node's fetch, errors worded
// "<METHOD> <url> failed: <status> <body>"), its retry policy, its result
// file writer, its SpacetimeDB URL handling (only host[:port] survives, so
// wss/https become ws/http) and its read of the committed-transfer counter.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

export function isoNow(ms = Date.now()) {
  return new Date(ms).toISOString();
}

// The original's pretty JSON, used for responses and result files alike.
export function prettyJson(value) {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function describeError(err) {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause != null ? `; cause: ${String(err.cause)}` : '';
  return `${err.message}${cause}`;
}

async function fetchJson(url, init) {
  const method = init?.method ?? 'GET';
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new Error(`${method} ${url} failed: ${describeError(err)}`);
  }
  if (!res.ok) {
    const text = await res.text();
    throw new Error(`${method} ${url} failed: ${res.status} ${text}`);
  }
  return await res.json();
}

export async function getJson(baseUrl, path) {
  return await fetchJson(new URL(path, baseUrl).toString());
}

export async function postJson(baseUrl, path, body) {
  return await fetchJson(new URL(path, baseUrl).toString(), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

// Up to maxAttempts attempts in total with delayMs between them, logging
// "<label>: <error>" for each failed one that is retried. No retry once
// shouldRetry() says no (the generator's stop signal). The last error
// propagates: a generator that exhausts it exits 1.
export async function retryUntilSuccess(label, op, delayMs = 1000, maxAttempts = 3, shouldRetry = () => true) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await op();
    } catch (err) {
      if (!shouldRetry() || attempt >= maxAttempts) throw err;
      console.warn(`${label}: ${err instanceof Error ? err.message : String(err)}`);
      await sleep(delayMs);
    }
  }
}

export async function writeJsonFile(path, value) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, prettyJson(value), 'utf8');
}

// ---- SpacetimeDB URLs ------------------------------------------------------

function parseStdbUrl(raw) {
  const trimmed = raw.trim();
  if (!trimmed) throw new Error('STDB_URL not set');
  return new URL(/^[a-z]+:\/\//i.test(trimmed) ? trimmed : `ws://${trimmed}`);
}

// What every --stdb-url is reduced to: host[:port].
export function normalizeStdbUrl(raw) {
  return parseStdbUrl(raw).host;
}

function withScheme(raw, protocol, pathname) {
  const url = parseStdbUrl(raw);
  url.protocol = protocol;
  url.pathname = pathname;
  url.search = '';
  url.hash = '';
  return url.toString();
}

export function metricsUrl(raw) {
  return withScheme(raw, 'http:', '/v1/metrics');
}

export function websocketUrl(raw) {
  return withScheme(raw, 'ws:', '');
}

// ---- the committed-transfer counter (§8.9) --------------------------------

const COUNTER = 'spacetime_num_txns_total';
const WANTED_LABELS = { committed: 'true', reducer: 'transfer', txn_type: 'Reducer' };

// The first line of the counter whose labels include WANTED_LABELS (any
// database: the original ignores the db label), its value's integer part as
// a bigint; null when no line matches.
export function parseCommittedTransfers(text) {
  for (const line of text.split('\n')) {
    if (!line.startsWith(COUNTER)) continue;
    const m = line.match(/^([^{\s]+)(\{([^}]*)\})?\s+([0-9.eE+-]+)$/);
    if (!m) continue;
    const labels = {};
    for (const part of (m[3] ?? '').trim().split(',')) {
      const item = part.trim();
      const eq = item.indexOf('=');
      if (!item || eq === -1) continue;
      labels[item.slice(0, eq).trim()] = item
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '');
    }
    if (!Object.entries(WANTED_LABELS).every(([k, v]) => labels[k] === v)) continue;
    try {
      return BigInt(m[4].split('.')[0]);
    } catch {
      // e.g. an exponent: the original skips the line
    }
  }
  return null;
}

export async function readCommittedTransfers(stdbHost) {
  const url = metricsUrl(stdbHost);
  let res;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`metrics GET ${url} failed: ${describeError(err)}`);
  }
  if (!res.ok) throw new Error(`metrics GET ${url} failed: ${res.status} ${res.statusText}`);
  return parseCommittedTransfers(await res.text());
}
