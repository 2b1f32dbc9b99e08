#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets in fuzz/.

message_decode_fuzz: every message, frame and payload of the golden vectors
(tests/data/vectors.json, bytes made by the official SpacetimeDB SDK), plus
each server message behind the three compression bytes, so the fuzzer starts
from real wire bytes instead of having to discover the tags.

control_json_fuzz: one sample of every control-plane body and response the
coordinator parses (the shapes of docs/protocol.md), and a /stopped report
with per-interval statistics.

Usage: make_corpus.py --vectors tests/data/vectors.json --out DIR
Creates DIR/message_decode_fuzz/ and DIR/control_json_fuzz/; one file per
seed, named after what it is, so a finding can be traced to its seed.
"""
import argparse
import gzip
import json
import pathlib
import re

# Vectors that are not wire messages (scalars and harness sequences) are
# still useful: they are the building blocks the decoders read.
WIRE_PREFIXES = ("v2.", "ws.", "sdk_live.", "bsatn.")

HISTOGRAM = {"sigDigits": 3, "unit": "us", "count": 3, "sum": 17, "min": 5, "max": 7,
             "overflow": 0, "buckets": [[5, 2], [7, 1]]}
EMPTY_HISTOGRAM = {"sigDigits": 3, "unit": "us", "count": 0, "sum": 0, "min": 0, "max": 0,
                   "overflow": 0, "buckets": []}
INTERVAL = {"startMs": 1775822433000, "lengthMs": 1000, "attempted": 4, "committed": 3,
            "failures": {"moduleErrors": {"insufficient funds": 1}, "internalErrors": 0,
                         "timeouts": 0, "disconnects": 0},
            "latency": HISTOGRAM}
GENERATOR = {"id": "gen-a", "hostname": "load-1", "desiredConnections": 4, "openedConnections": 4,
             "localState": "ready", "activeEpoch": None, "included": True,
             "lastSeenAt": "2026-04-10T12:00:33.224Z"}
RESULT = {"epoch": 1, "label": "run-1", "test": "test-1", "connector": "spacetimedb",
          "windowSeconds": 60, "actualWindowSeconds": 60.002, "participantIds": ["gen-a"],
          "participantConnections": 4, "measuredAt": "2026-04-10T12:00:33.224Z",
          "finishedAt": "2026-04-10T12:01:33.226Z", "committedBefore": "10",
          "committedAfter": "6010", "committedDelta": "6000", "tps": 99.99,
          "verification": "passed", "verificationError": None, "error": None}
STATE = {"phase": "idle", "currentEpoch": None, "currentLabel": None, "participants": [],
         "test": "test-1", "connector": "spacetimedb", "generators": [GENERATOR],
         "lastResult": RESULT, "version": 7, "serverTimeMs": 1775822493226}

CONTROL_SEEDS = {
    "register": {"id": "gen-a", "hostname": "load-1", "desiredConnections": 4,
                 "manifest": {"toolVersion": "0.1.0", "hostname": "load-1", "pid": 42,
                              "startedAt": "2026-04-10T12:00:00.000Z",
                              "options": {"concurrency": 4},
                              "workload": {"alpha": 1.5, "accounts": 100000, "pairMode": "zipf"}}},
    "register_old": {"id": "gen-a", "hostname": "load-1", "desiredConnections": 4},
    "ready": {"id": "gen-a", "openedConnections": 4, "negotiatedProtocol": "v3.bsatn.spacetimedb"},
    "started": {"id": "gen-a", "epoch": 1},
    "stopped": {"id": "gen-a", "epoch": 1, "counters": {"attempted": 4, "committed": 3},
                "intervals": [INTERVAL]},
    "start_epoch": {"label": "run-1", "generatorIds": ["gen-a", "gen-b"]},
    "start_epoch_empty": {},
    "include": {"generatorIds": ["gen-a"]},
    "generator": GENERATOR,
    "result": RESULT,
    "state": STATE,
    "start_epoch_response": {"started": False, "message": "No ready generators available for the next epoch",
                             "state": STATE},
    "interval": INTERVAL,
    "intervals": [INTERVAL, dict(INTERVAL, startMs=1775822434000, latency=EMPTY_HISTOGRAM,
                                 attempted=0, committed=0,
                                 failures={"moduleErrors": {}, "internalErrors": 0, "timeouts": 0,
                                           "disconnects": 0})],
    "histogram": HISTOGRAM,
}


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def message_seeds(vectors):
    for v in vectors:
        hex_bytes = v.get("hex")
        if not hex_bytes or not v["name"].startswith(WIRE_PREFIXES):
            continue
        raw = bytes.fromhex(hex_bytes)
        yield v["name"], raw
        # A bare server message also becomes a payload under each tag: plain
        # (0) and gzip (2) as the server frames them; brotli (1) is left to the
        # fuzzer (no brotli module in the standard library).
        if v["name"].startswith("v2.server."):
            yield v["name"] + ".tag0", b"\x00" + raw
            yield v["name"] + ".tag2", b"\x02" + gzip.compress(raw, compresslevel=1, mtime=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", required=True, type=pathlib.Path)
    parser.add_argument("--out", required=True, type=pathlib.Path)
    args = parser.parse_args()

    vectors = json.loads(args.vectors.read_text())
    messages = args.out / "message_decode_fuzz"
    control = args.out / "control_json_fuzz"
    messages.mkdir(parents=True, exist_ok=True)
    control.mkdir(parents=True, exist_ok=True)

    n_messages = 0
    for name, raw in message_seeds(vectors):
        (messages / safe_name(name)).write_bytes(raw)
        n_messages += 1
    for name, value in CONTROL_SEEDS.items():
        (control / name).write_text(json.dumps(value, indent=2) + "\n")
    print(f"make_corpus: {n_messages} message seeds in {messages}, "
          f"{len(CONTROL_SEEDS)} control JSON seeds in {control}")


if __name__ == "__main__":
    main()
