// The original harness's command-line parser (spacetimedb-wire.md §8.1),
// shared by the three test doubles of it in this directory. It is
// deliberately loose, as the original is: every "--name" is a flag, its
// value is the next argument unless that is missing or starts with "--"
// (then the value is "1"), "--name=value" is not understood (it becomes a
// flag called "name=value"), a bare "--" is skipped (pnpm passes it
// through), anything else is a positional, the last of duplicates wins and
// unknown flags are ignored. Our tools must accept the command lines that
// worked with it; these doubles let the integration tests run such command
// lines against the real thing's behaviour.

export function parseArgs(argv) {
  const positionals = [];
  const flags = new Map();
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i];
    if (arg === '--') {
      i += 1;
    } else if (!arg.startsWith('--')) {
      positionals.push(arg);
      i += 1;
    } else {
      const name = arg.slice(2);
      const value = argv[i + 1];
      // An empty string is falsy in the original's test too: it becomes "1".
      if (!value || value.startsWith('--')) {
        flags.set(name, '1');
        i += 1;
      } else {
        flags.set(name, value);
        i += 2;
      }
    }
  }
  return { positionals, flags };
}

// A string flag; an empty value falls back like a missing one.
export function getStringFlag(flags, name, fallback) {
  const value = flags.get(name);
  if (value != null && value.length > 0) return value;
  if (fallback != null) return fallback;
  throw new Error(`Missing required --${name}`);
}

export function getOptionalStringFlag(flags, name) {
  const value = flags.get(name);
  return value != null && value.length > 0 ? value : undefined;
}

// Number(raw) must be finite; a missing flag takes the fallback.
export function getNumberFlag(flags, name, fallback) {
  const raw = flags.get(name);
  if (raw == null) {
    if (fallback != null) return fallback;
    throw new Error(`Missing required --${name}`);
  }
  const parsed = Number(raw);
  if (!Number.isFinite(parsed)) {
    throw new Error(`Invalid numeric value for --${name}: ${raw}`);
  }
  return parsed;
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

export function getBoolFlag(flags, name, fallback = false) {
  const raw = flags.get(name);
  if (raw == null) return fallback;
  if (TRUE_WORDS.has(raw)) return true;
  if (FALSE_WORDS.has(raw)) return false;
  throw new Error(`Invalid boolean value for --${name}: ${raw}`);
}

// Comma-separated, items trimmed, empty items dropped; undefined when absent.
export function getStringListFlag(flags, name) {
  const raw = flags.get(name);
  if (raw == null) return undefined;
  return raw
    .split(',')
    .map(item => item.trim())
    .filter(item => item.length > 0);
}

// Not the original's: which of its two revisions a double plays.
// "first" is 5c6f308b7 (phase "warmup", --warmup-seconds, no /started),
// "final" is eb0645ced^ (phase "starting", the /started barrier,
// --start-ack-timeout-seconds, --stdb-compression). The original ignores
// unknown flags, so this one cannot clash with any of its command lines.
export function getRevision(flags) {
  const revision = getStringFlag(flags, 'revision', 'final');
  if (revision !== 'first' && revision !== 'final') {
    throw new Error(`--revision must be first or final, got ${revision}`);
  }
  return revision;
}
