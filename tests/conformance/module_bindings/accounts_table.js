// Hand-written stand-in for the file `spacetime generate --lang typescript`
// would emit for the keynote transfer module's `accounts` table (SDK 2.10.1
// layout: one `<table>_table.ts` per table exporting the row builder).
// Written in plain JavaScript so Node 20 runs it without a TypeScript step.

/* eslint-disable */
import { t as __t } from 'spacetimedb';

/** Row of `accounts`: BSATN `id` u32 then `balance` i64, 12 bytes. */
export default __t.row({
  id: __t.u32().primaryKey(),
  balance: __t.i64(),
});
