#!/usr/bin/python3
"""Runs the engine benchmark inside a running sparrow-server (the Benchmark RPC: random inputs,
no image decoding or network in the timings) and prints a table, one row per configuration.

    examples/benchmark.py --server localhost:8001 --batch-size 1 2 4 --seconds 5
    examples/benchmark.py --server localhost:8001 --streams 1 2 --json results.json

--json writes a list of results with the keys of `sparrow benchmark --export-json`.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install

from sparrow_client import SparrowClient, SparrowError  # noqa: E402

COLUMNS = [  # header, key, format
    ("model", "model", "{}"),
    ("batch", "batch_size", "{}"),
    ("streams", "num_streams", "{}"),
    ("items/s", "items_per_second", "{:.2f}"),
    ("ms/batch mean", "batch_times_mean", "{:.2f}"),
    ("median", "batch_times_median", "{:.2f}"),
    ("std", "batch_times_std", "{:.2f}"),
    ("p90", "p90", "{:.2f}"),
    ("p99", "p99", "{:.2f}"),
    ("iterations", "iterations", "{}"),
]


def print_table(rows):
    cells = [[h for h, _, _ in COLUMNS]] + [[fmt.format(r[key]) for _, key, fmt in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    for n, row in enumerate(cells):
        print("  ".join(c.rjust(w) if n and i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default=os.environ.get("SPARROW_SERVER", "localhost:8001"),
                   help="host:port of sparrow-server (default: $SPARROW_SERVER or %(default)s)")
    p.add_argument("--model", default="", help="model name (default: the server's default model)")
    p.add_argument("--batch-size", type=int, nargs="+", default=[0],
                   help="batch sizes to run (default: the model's batch size)")
    p.add_argument("--streams", type=int, nargs="+", default=[1],
                   help="concurrent streams; more than 1 runs the async scenario (default: 1)")
    p.add_argument("--seconds", type=float, default=10, help="timed seconds per run (default: %(default)s)")
    p.add_argument("--iterations", type=int, default=0, help="batches per run instead of --seconds")
    p.add_argument("--warmup", type=float, default=2, help="untimed warm-up seconds (default: %(default)s)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--tls", action="store_true", help="connect with TLS (system CAs unless --ca)")
    p.add_argument("--ca", help="PEM file of the CA that signed the server's certificate (implies --tls)")
    p.add_argument("--cert", help="PEM client certificate chain, for servers requiring one")
    p.add_argument("--key", help="PEM client private key")
    args = p.parse_args()
    if (args.cert is None) != (args.key is None):
        p.error("--cert and --key go together")

    rows = []
    with SparrowClient(args.server, tls=args.tls, root_certificates=args.ca, private_key=args.key,
                       certificate_chain=args.cert) as client:
        try:
            for batch in args.batch_size:
                for streams in args.streams:
                    print(f"running batch {batch or 'default'}, {streams} stream(s)...", file=sys.stderr)
                    rows.append(client.benchmark(batch_size=batch, seconds=args.seconds, iterations=args.iterations,
                                                 warmup_seconds=args.warmup, num_streams=streams, model=args.model))
        except SparrowError as e:
            print(f"benchmark.py: {e}", file=sys.stderr)
            if not rows:
                return 1
    first = rows[0]
    print(f"server {args.server}: {first['num_cores']} core(s), ISA {first['isa']}, "
          f"{first['engine_description']['layers']} layers ({', '.join(f'{k} {v}' for k, v in first['kernels'].items())})")
    print_table(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
            f.write("\n")
    return 0 if len(rows) == len(args.batch_size) * len(args.streams) else 1


if __name__ == "__main__":
    sys.exit(main())
