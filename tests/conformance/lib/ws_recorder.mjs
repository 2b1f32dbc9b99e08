// Puts a recording WebSocket class in `globalThis.WebSocket` so the suite can
// (a) restrict which subprotocols the official SDK offers and (b) observe what
// the SDK actually did on the wire: the URL it opened, the subprotocol list it
// offered, the one the server chose, and the compression tag of every inbound
// frame.
//
// Why a global and not the SDK's `withWSFn` option: the SDK 2.10.1 resolves
// its socket class as "global `WebSocket` if defined, else `undici`'s", and
// passes its fixed offer ["v3.bsatn.spacetimedb", "v2.bsatn.spacetimedb"] to
// that constructor. `withWSFn` would force us to replace the SDK's own
// decompression adapter (it is not exported), so less of the SDK would be
// under test. Subclassing the very class the SDK would have used and only
// filtering the offered list keeps every other byte on the SDK's own path.

/** Subprotocols the SDK 2.10.1 knows, in its preference order. */
export const V3_PROTOCOL = 'v3.bsatn.spacetimedb';
export const V2_PROTOCOL = 'v2.bsatn.spacetimedb';

/** Every socket the SDK opened in this process, oldest first. */
export const sockets = [];

// `null` means "pass the SDK's offer through untouched".
let allowedProtocols = null;

/**
 * Restricts the subprotocols later sockets may offer to those in `list`
 * (intersected with what the SDK asks for, keeping the SDK's order);
 * `null` lifts the restriction.
 */
export function restrictOfferedProtocols(list) {
  allowedProtocols = list === null ? null : [...list];
}

function asList(protocols) {
  if (protocols === undefined) return [];
  return Array.isArray(protocols) ? [...protocols] : [protocols];
}

function frameBytes(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return null; // a text frame: the SDK's protocols never use one
}

// Resolvers waiting for the next socket to be constructed.
const creationWaiters = [];

/** Resolves with the recorder entry of the next socket the SDK opens. */
export function nextSocket() {
  return new Promise(resolve => creationWaiters.push(resolve));
}

let installed = false;

/**
 * Installs the recording class once. Must run before the first
 * `DbConnection.builder().build()`.
 */
export async function installRecordingWebSocket() {
  if (installed) return;
  // Node >= 22 has a global WebSocket; Node 18-21 needs the `undici` package,
  // exactly as the SDK itself would load it.
  const Base =
    typeof globalThis.WebSocket === 'function'
      ? globalThis.WebSocket
      : (await import('undici')).WebSocket;

  class RecordingWebSocket extends Base {
    constructor(url, protocols) {
      const offered = asList(protocols);
      const sent =
        allowedProtocols === null
          ? offered
          : offered.filter(p => allowedProtocols.includes(p));
      super(url, sent);
      const record = {
        url: new URL(String(url)),
        offeredBySdk: offered,
        sent,
        negotiated: undefined,
        opened: false,
        closed: false,
        closeCode: undefined,
        frames: [],
        frameWaiters: new Set(),
        socket: this,
        failure: undefined,
      };
      // Resolves with an Error if the socket fails before it opens. The SDK
      // attaches its handlers a few microtasks after construction and, with
      // undici on Node 20, misses an error that fires that early (an
      // immediately refused connection): it then reports neither
      // onConnectError nor onDisconnect. Our listener is attached in the
      // constructor, so it sees the error.
      record.failure = new Promise(resolve => {
        const failed = detail => {
          if (!record.opened) resolve(new Error(detail));
        };
        this.addEventListener('error', ev =>
          failed(ev?.message || ev?.error?.message || 'WebSocket error')
        );
        this.addEventListener('close', ev =>
          failed(`closed with code ${ev.code} before opening`)
        );
      });
      sockets.push(record);
      for (const resolve of creationWaiters.splice(0)) resolve(record);
      this.addEventListener('open', () => {
        record.opened = true;
        record.negotiated = this.protocol;
      });
      this.addEventListener('message', ev => {
        const bytes = frameBytes(ev.data);
        const frame = {
          text: bytes === null,
          tag: bytes && bytes.length > 0 ? bytes[0] : undefined,
          bytes: bytes ? bytes.slice() : undefined,
        };
        record.frames.push(frame);
        for (const waiter of record.frameWaiters) waiter(frame);
      });
      this.addEventListener('close', ev => {
        record.closed = true;
        record.closeCode = ev.code;
      });
    }
  }

  globalThis.WebSocket = RecordingWebSocket;
  installed = true;
}

/** Closes every socket still open (used by cleanup hooks after failures). */
export function closeAllSockets() {
  for (const record of sockets) {
    if (!record.closed) {
      try {
        record.socket.close();
      } catch {
        // already closing; nothing else to do
      }
    }
  }
}
