// Hand-written client bindings for the keynote transfer module, shaped like the
// `index.ts` that `spacetime generate --lang typescript` emits for SDK 2.10.1:
// a table schema and reducer schemas built with the SDK's public type-builder
// API, a REMOTE_MODULE descriptor, and DbConnection / DbConnectionBuilder /
// SubscriptionBuilder subclasses. We write them by hand because the
// conformance suite must not depend on the SpacetimeDB CLI, and in JavaScript
// (not TypeScript) so Node 20 can load them without a compile step.
//
// Module (templates/keynote-2): table `accounts` {id: u32 primary key,
// balance: i64}; reducers `seed(n: u32, initial_balance: i64)` and
// `transfer(from: u32, to: u32, amount: i64)`.

/* eslint-disable */
import {
  DbConnectionBuilder as __DbConnectionBuilder,
  DbConnectionImpl as __DbConnectionImpl,
  SubscriptionBuilderImpl as __SubscriptionBuilderImpl,
  convertToAccessorMap as __convertToAccessorMap,
  makeQueryBuilder as __makeQueryBuilder,
  procedures as __procedures,
  reducerSchema as __reducerSchema,
  reducers as __reducers,
  schema as __schema,
  table as __table,
} from 'spacetimedb';

// Reducer argument schemas.
import SeedReducer from './seed_reducer.js';
import TransferReducer from './transfer_reducer.js';

// Table row schemas.
import AccountsRow from './accounts_table.js';

/** Table schemas, declared the way the server module declares them. */
const tablesSchema = __schema({
  accounts: __table(
    {
      name: 'accounts',
      indexes: [],
      constraints: [
        { name: 'accounts_id_key', constraint: 'unique', columns: ['id'] },
      ],
    },
    AccountsRow
  ),
});

/** Reducer schemas: wire names and parameter order; bodies live on the server. */
const reducersSchema = __reducers(
  __reducerSchema('seed', SeedReducer),
  __reducerSchema('transfer', TransferReducer)
);

/** The module has no procedures. */
const proceduresSchema = __procedures();

/**
 * What the SDK needs to know about the remote module. `cliVersion` is checked
 * by `DbConnectionBuilder.build()` against the SDK's minimum (1.4.0); we claim
 * the CLI release that matches the SDK we pin.
 */
const REMOTE_MODULE = {
  versionInfo: {
    cliVersion: '2.10.1',
  },
  tables: tablesSchema.schemaType.tables,
  reducers: reducersSchema.reducersType.reducers,
  ...proceduresSchema,
};

/** Table references; each doubles as a typed query builder. */
export const tables = __makeQueryBuilder(tablesSchema.schemaType);

/** Reducer descriptors keyed by accessor name (`seed`, `transfer`). */
export const reducers = __convertToAccessorMap(
  reducersSchema.reducersType.reducers
);

/** Procedure descriptors (none). */
export const procedures = __convertToAccessorMap(proceduresSchema.procedures);

/** Configures a subscription on a {@link DbConnection}. */
export class SubscriptionBuilder extends __SubscriptionBuilderImpl {}

/** Configures and opens a {@link DbConnection}. */
export class DbConnectionBuilder extends __DbConnectionBuilder {}

/** A connection to a database running the keynote transfer module. */
export class DbConnection extends __DbConnectionImpl {
  /** Starts configuring a connection: `DbConnection.builder().withUri(...)...build()`. */
  static builder = () =>
    new DbConnectionBuilder(REMOTE_MODULE, config => new DbConnection(config));

  /** Starts configuring a subscription on this connection. */
  subscriptionBuilder = () => new SubscriptionBuilder(this);
}
