// Hand-written equivalent of the generated `transfer_reducer.ts`: the
// parameter schema of `transfer(from: u32, to: u32, amount: i64)`.

/* eslint-disable */
import { t as __t } from 'spacetimedb';

export default {
  from: __t.u32(),
  to: __t.u32(),
  amount: __t.i64(),
};
