// Test double of the original harness's bench-dist-control
// (templates/keynote-2/src/distributed/control.ts), written from
// spacetimedb-wire.md §8.4: `status` (the default) prints the coordinator's
// state; `start-epoch` posts the request, prints the answer's message and
// state, and if an epoch started polls /admin/status every --poll-ms until
// that epoch's result is in, then prints the state again. Anything else is
// an error, exit 1. The control program is the same in both revisions;
// `--revision` is accepted for symmetry with the other two doubles.
//
// Like the original, start-epoch waits without a deadline; a test that
// starts it ends it (SIGTERM ends it at once: no handler is installed).

import {
  getNumberFlag,
  getOptionalStringFlag,
  getRevision,
  getStringFlag,
  getStringListFlag,
  parseArgs,
} from './args.mjs';
import { getJson, postJson, sleep } from './util.mjs';

function printState(state) {
  console.log(`phase=${state.phase} epoch=${state.currentEpoch ?? '-'} label=${state.currentLabel ?? '-'}`);
  console.log(`test=${state.test} connector=${state.connector} participants=${state.participants.length}`);
  if (state.generators.length === 0) {
    console.log('generators: none');
  } else {
    console.log('generators:');
    for (const g of state.generators) {
      console.log(
        `  ${g.id} host=${g.hostname} state=${g.localState} opened=${g.openedConnections}/${g.desiredConnections} active_epoch=${g.activeEpoch ?? '-'}`,
      );
    }
  }
  const r = state.lastResult;
  if (r) {
    console.log('last_result:');
    console.log(
      `  epoch=${r.epoch} tps=${r.tps.toFixed(2)} delta=${r.committedDelta} verification=${r.verification}${r.error ? ` error=${r.error}` : ''}`,
    );
  }
}

async function waitForEpochResult(coordinatorUrl, epoch, pollMs) {
  for (;;) {
    const state = await getJson(coordinatorUrl, '/admin/status');
    if (state.lastResult && state.lastResult.epoch === epoch && state.currentEpoch !== epoch) return state;
    await sleep(pollMs);
  }
}

async function main() {
  const { positionals, flags } = parseArgs(process.argv.slice(2));
  getRevision(flags);
  const command = positionals[0] ?? 'status';
  const coordinatorUrl = getStringFlag(flags, 'coordinator-url', 'http://127.0.0.1:8080');

  switch (command) {
    case 'status':
      printState(await getJson(coordinatorUrl, '/admin/status'));
      return;
    case 'start-epoch': {
      const label = getOptionalStringFlag(flags, 'label');
      const generatorIds = getStringListFlag(flags, 'generator-ids');
      const pollMs = getNumberFlag(flags, 'poll-ms', 1000);
      // Undefined fields vanish from the JSON body.
      const response = await postJson(coordinatorUrl, '/admin/start-epoch', { label, generatorIds });
      console.log(response.message);
      printState(response.state);
      if (!response.started) return;
      const epoch = response.state.currentEpoch;
      if (epoch == null) return;
      console.log(`waiting for epoch ${epoch} to complete...`);
      printState(await waitForEpochResult(coordinatorUrl, epoch, pollMs));
      return;
    }
    default:
      throw new Error(`Unknown command "${command}". Supported commands: status, start-epoch`);
  }
}

main().catch(err => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
