#!/usr/bin/env python3
"""Serving overhead: sparrow-client load against sparrow-server, next to the engine's own
in-process `sparrow benchmark` for the same batch size, in one run on one machine.

For each server batch size B it runs `sparrow benchmark -b B` (in process, random tensors), then
starts `sparrow-server --max-batch-size B` and drives it with `sparrow-client load` at each
concurrency level in each mode:
  detect:     sparrow.v1 Detect with the encoded sample image (the server decodes, letterboxes, NMS)
  infer:      KServe ModelInfer with a letterboxed UINT8 tensor, answered with detections
  infer-shm:  the same, the tensor in a shared memory region (Triton's system-shared-memory
              extension) instead of in the gRPC message
and writes a markdown table of items/sec, latency and the ratio to the in-process figure.
Uses only the standard library.
"""
import argparse
import datetime
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from compare import cpu_model  # the CPU line in both benchmarks' reports


MODE_FLAGS = {
    "detect": ["--mode", "detect"],
    "infer": ["--mode", "infer"],
    "infer-shm": ["--mode", "infer", "--shared-memory"],
}


def run_json(cmd, out_path):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with open(out_path) as f:
        return json.load(f)


def start_server(binary, args, log_path, env=None):
    """Starts sparrow-server on a free port with `args`; returns (process, port) once SERVING."""
    log = open(log_path, "w")
    proc = subprocess.Popen([binary, "--port", "0", "--metrics-port", "0"] + args, stdout=log, stderr=log,
                            env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        with open(log_path) as f:
            text = f.read()
        match = re.search(r"listening on [^:]+:(\d+)", text)
        if match and "SERVING" in text:
            return proc, int(match.group(1))
        if proc.poll() is not None:
            raise RuntimeError("sparrow-server exited:\n" + text)
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("sparrow-server did not become SERVING in 120 s")


def measure_round(args, batch, tmp, engine_runs, level_runs):
    """One round for one batch size: the in-process benchmark, then the server at every level."""
    bench_json = os.path.join(tmp, f"bench{batch}.json")
    engine = run_json([args.sparrow, "benchmark", args.model, "-b", str(batch), "-t", str(args.duration),
                       "-w", str(args.warmup), "--export-json", bench_json], bench_json)
    engine_runs.setdefault(batch, []).append(engine["items_per_second"])
    print(f"in-process batch {batch}: {engine['items_per_second']:.2f} items/s", flush=True)
    proc, port = start_server(args.server, ["--model", args.model, "--max-batch-size", str(batch),
                                            "--allow-shared-memory"], os.path.join(tmp, f"server{batch}.log"))
    try:
        for mode in args.modes.split(","):
            load_json = os.path.join(tmp, f"load{batch}{mode}.json")
            load = run_json([args.client, "-s", f"localhost:{port}", "load"] + MODE_FLAGS[mode] + [
                             "--images", args.image, "--concurrency", args.concurrency,
                             "--duration", str(args.duration), "--warmup", str(args.warmup),
                             "--json", load_json], load_json)
            for level in load["levels"]:
                level_runs.setdefault((batch, mode, level["concurrency"]), []).append(level)
                print(f"  {mode} concurrency {level['concurrency']}: {level['items_per_second']:.2f} items/s",
                      flush=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def paired_ratios(engine_runs, level_runs):
    """Per batch size and mode, one ratio per round. The machine's speed drifts between rounds
    (the in-process figure alone moved 42 -> 51 items/s within 15 minutes once), so a served
    run is compared with the in-process run closest to it in time, not with the best of all."""
    ratios = {}
    for (batch, mode, _), levels in level_runs.items():
        per_round = ratios.setdefault((batch, mode), [0.0] * len(levels))
        for r, level in enumerate(levels):
            per_round[r] = max(per_round[r], level["items_per_second"] / engine_runs[batch][r])
    return ratios


def spread(values):
    return f"{min(values):.1f}–{max(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sparrow", default="build/cli/sparrow")
    p.add_argument("--server", default="build/server/sparrow-server")
    p.add_argument("--client", default="build/clients/cli/sparrow-client")
    p.add_argument("--model", default="../shared/models/yolov5n.onnx")
    p.add_argument("--image", default="../shared/data/images/bus.jpg")
    p.add_argument("--batch-sizes", default="1,4", help="server max batch sizes (and in-process batch sizes)")
    p.add_argument("--concurrency", default="1,4,16")
    p.add_argument("--modes", default=",".join(MODE_FLAGS))
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--rounds", type=int, default=3,
                   help="alternating rounds of in-process and served runs; each figure is the best round's")
    p.add_argument("--out", default="serving.md")
    args = p.parse_args()

    # Other tenants of a shared machine only ever slow a run down, so the best of a few rounds,
    # taken alike for the engine and the server and interleaved in time, is the steadiest figure.
    engine_runs, level_runs = {}, {}
    batches = [int(b) for b in args.batch_sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            print(f"round {r + 1} of {args.rounds}", flush=True)
            for batch in batches:
                measure_round(args, batch, tmp, engine_runs, level_runs)

    lines = [
        "# Serving overhead: sparrow-server vs the in-process engine",
        "",
        f"- Command: `{' '.join([os.path.basename(sys.executable)] + sys.argv)}`",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}; CPU: {cpu_model()}, "
        f"{os.cpu_count()} cores (client, server and engine share them)",
        f"- Each level: {args.warmup:g} s warmup, {args.duration:g} s measured; one image per request; "
        f"{args.rounds} alternating rounds, best round shown with the range over rounds",
        "",
        "| batch | in-process items/s (range) | mode | concurrency | items/s (range) | p50 ms | p99 ms | errors | ÷ in-process |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    best = {}
    for (batch, mode, concurrency), levels in level_runs.items():
        engine_ips = max(engine_runs[batch])
        level = max(levels, key=lambda l: l["items_per_second"])
        ratio = level["items_per_second"] / engine_ips
        best[(batch, mode)] = max(best.get((batch, mode), 0), ratio)
        lat = level["latency_ms"]
        lines.append(f"| {batch} | {engine_ips:.2f} ({spread(engine_runs[batch])}) | {mode} | {concurrency} | "
                     f"{level['items_per_second']:.2f} ({spread([l['items_per_second'] for l in levels])}) | "
                     f"{lat['p50']:.1f} | {lat['p99']:.1f} | {sum(l['failed'] for l in levels)} | {ratio:.0%} |")
    lines += ["", "Best concurrency per batch size and mode: " +
              ", ".join(f"batch {b} {m} {r:.0%}" for (b, m), r in sorted(best.items()))]
    lines += ["", "Paired by round (the round's best concurrency ÷ the in-process run of the same round, "
              "measured a minute or two before it; median, range): " +
              ", ".join(f"batch {b} {m} {statistics.median(r):.0%} ({min(r):.0%}–{max(r):.0%})"
                        for (b, m), r in sorted(paired_ratios(engine_runs, level_runs).items()))]
    text = "\n".join(lines) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
