#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets in fuzz/.

message_decode_fuzz: every message, frame and payload of the golden vectors
(tests/data/vectors.json, bytes made by the official SpacetimeDB SDK), plus
each server message behind the three compression bytes, so the fuzzer starts
from real wire bytes instead of having to discover the tags.

control_json_fuzz: one sample of every control-plane body and response the
coordinator parses (the shapes of docs/protocol.md), and a /stopped report
with per-interval statistics.

ws_frame_fuzz: WebSocket frame streams (a first byte choosing the message
limit, then frames): RFC 6455 section 5.7's examples, each length encoding,
a fragmented message with a ping between its fragments, close frames, and
frames the codec refuses (masked from a server, reserved bits, a long
control frame), so every branch of the header parser has a seed.

Usage: make_corpus.py --vectors tests/data/vectors.json --out DIR
Creates DIR/message_decode_fuzz/, DIR/control_json_fuzz/ and
DIR/ws_frame_fuzz/; one file per seed, named after what it is, so a
finding can be traced to its seed.
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


RFC_KEY = bytes([0x37, 0xFA, 0x21, 0x3D])


def ws_frame(opcode, payload=b"", fin=True, key=None, rsv=0):
    """One frame, minimal length encoding, masked with key when given."""
    out = bytearray([(0x80 if fin else 0) | rsv | opcode])
    mask_bit = 0x80 if key else 0
    n = len(payload)
    if n < 126:
        out.append(mask_bit | n)
    elif n < 65536:
        out += bytes([mask_bit | 126]) + n.to_bytes(2, "big")
    else:
        out += bytes([mask_bit | 127]) + n.to_bytes(8, "big")
    if key:
        out += key
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes(out) + payload


def ws_frame_seeds():
    """(name, bytes): byte 0 picks the limit (0 none, 1 125, 2 4096, 3 16 MiB)."""
    k = RFC_KEY
    frames = {
        "rfc_hello": ws_frame(0x1, b"Hello"),
        "rfc_hello_masked": ws_frame(0x1, b"Hello", key=k),
        "rfc_fragments": ws_frame(0x1, b"Hel", fin=False) + ws_frame(0x0, b"lo"),
        "rfc_ping_pong": ws_frame(0x9, b"Hello") + ws_frame(0xA, b"Hello", key=k),
        "binary_256": ws_frame(0x2, bytes(range(256))),
        "binary_256_masked": ws_frame(0x2, bytes(range(256)), key=k),
        "binary_65536_header": ws_frame(0x2, bytes(65536))[:10] + b"\0" * 16,
        "fragments_with_ping": ws_frame(0x2, b"ab", fin=False) + ws_frame(0x9, b"") + ws_frame(0x0, b"cd"),
        "fragments_with_ping_masked": (ws_frame(0x2, b"ab", fin=False, key=k) + ws_frame(0x9, b"", key=k)
                                       + ws_frame(0x0, b"cd", key=k)),
        "close_normal": ws_frame(0x8, b"\x03\xe8bye"),
        "close_masked": ws_frame(0x8, b"\x03\xe8bye", key=k),
        "close_empty": ws_frame(0x8),
        "close_bad_code": ws_frame(0x8, b"\x03\xed"),
        "close_bad_utf8": ws_frame(0x8, b"\x03\xe8\xc3\x28"),
        "refused_rsv1": ws_frame(0x2, b"x", rsv=0x40),
        "refused_masked_server": ws_frame(0x2, b"x", key=k),
        "refused_long_ping": bytes([0x89, 126, 0, 126]) + bytes(126),
        "refused_non_minimal": bytes([0x82, 126, 0, 5]) + b"hello",
        "refused_continuation": ws_frame(0x0, b"x"),
    }
    for name, stream in frames.items():
        for limit in (0, 1, 3):
            yield f"{name}.limit{limit}", bytes([limit]) + stream


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", required=True, type=pathlib.Path)
    parser.add_argument("--out", required=True, type=pathlib.Path)
    args = parser.parse_args()

    vectors = json.loads(args.vectors.read_text())
    messages = args.out / "message_decode_fuzz"
    control = args.out / "control_json_fuzz"
    frames = args.out / "ws_frame_fuzz"
    messages.mkdir(parents=True, exist_ok=True)
    control.mkdir(parents=True, exist_ok=True)
    frames.mkdir(parents=True, exist_ok=True)

    n_messages = 0
    for name, raw in message_seeds(vectors):
        (messages / safe_name(name)).write_bytes(raw)
        n_messages += 1
    for name, value in CONTROL_SEEDS.items():
        (control / name).write_text(json.dumps(value, indent=2) + "\n")
    n_frames = 0
    for name, raw in ws_frame_seeds():
        (frames / safe_name(name)).write_bytes(raw)
        n_frames += 1
    print(f"make_corpus: {n_messages} message seeds in {messages}, "
          f"{len(CONTROL_SEEDS)} control JSON seeds in {control}, {n_frames} WebSocket frame seeds in {frames}")


if __name__ == "__main__":
    main()
