// Hand-written equivalent of the generated `seed_reducer.ts`: the parameter
// schema of `seed(n: u32, initial_balance: i64)`. Codegen camel-cases
// parameter names; only their order matters on the wire (BSATN product).

/* eslint-disable */
import { t as __t } from 'spacetimedb';

export default {
  n: __t.u32(),
  initialBalance: __t.i64(),
};
