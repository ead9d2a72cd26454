#!/usr/bin/env python3
"""Throughput when the cores are shared: Sparrow beside other busy processes, measured side by
side with Sparrow alone, in interleaved rounds on one machine.

Cases, each with adaptive threads (the default) and with a baseline: SPARROW_ADAPTIVE_THREADS=0
(every run on the whole team, as Sparrow did before adaptive threads), or other binaries given
with --baseline-sparrow / --baseline-server (an older build, say):
  engine alone        `sparrow benchmark` by itself, twice per round (adaptive, baseline,
                      baseline, adaptive, so that drift during the round favours neither)
  engine pair         two `sparrow benchmark` processes at once (each one's items/s)
  engine + hog        `sparrow benchmark` beside a busy loop on one core
  server alone        `sparrow-client load` against `sparrow-server`
  server + hog        the same beside the busy loop
  two models          one server serving two models, both loaded at once (each model's items/s),
                      against the same server loaded on one model at a time
Each ratio divides a round's figure by the same setting's figure alone from the same round (the
mean of its two alone runs), and the table gives the median and range over the rounds; "engine
alone" and "server alone" divide by the adaptive setting's. Uses only the standard library.
"""
import argparse
import datetime
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from compare import cpu_model
from serving import run_json, start_server

HOG = [sys.executable, "-c", "while True: pass"]


class Setting:
    """Binaries and environment of one side of the comparison."""

    def __init__(self, name, sparrow, server, adaptive):
        self.name, self.sparrow, self.server = name, sparrow, server
        self.env = dict(os.environ)
        self.env["SPARROW_ADAPTIVE_THREADS"] = "1" if adaptive else "0"


def start_hog(nice):
    return subprocess.Popen(["nice", "-n", str(nice)] + HOG)


def benchmark_cmd(args, setting, out_json):
    return [setting.sparrow, "benchmark", args.model, "-t", str(args.duration), "-w", str(args.warmup),
            "--export-json", out_json]


def engine_runs(args, tmp, setting, count):
    """items/s of `count` benchmark processes run at once."""
    outs = [os.path.join(tmp, f"bench{i}.json") for i in range(count)]
    procs = [subprocess.Popen(benchmark_cmd(args, setting, o), stdout=subprocess.DEVNULL, env=setting.env)
             for o in outs]
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError("sparrow benchmark failed")
    return [json.load(open(o))["items_per_second"] for o in outs]


def engine_beside_hog(args, tmp, setting):
    hog = start_hog(args.hog_nice)
    try:
        return engine_runs(args, tmp, setting, 1)[0]
    finally:
        hog.kill()
        hog.wait()


def load(args, port, tmp, name, model=None):
    out = os.path.join(tmp, f"load-{name}.json")
    cmd = [args.client, "-s", f"localhost:{port}"] + (["--model", model] if model else []) + [
        "load", "--mode", "infer", "--images", args.image, "--concurrency", str(args.concurrency),
        "--duration", str(args.duration), "--warmup", str(args.warmup), "--json", out]
    return cmd, out


def run_loads(cmds):
    """Runs the load generators at once; items/s of each."""
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for cmd, _ in cmds]
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError("sparrow-client load failed: " + p.stderr.read().decode())
    results = []
    for _, out in cmds:
        level = json.load(open(out))["levels"][0]
        if level["failed"]:
            raise RuntimeError(f"{level['failed']} requests failed")
        results.append(level["items_per_second"])
    return results


def with_server(args, tmp, server_args, setting, body):
    proc, port = start_server(setting.server, server_args, os.path.join(tmp, "server.log"), env=setting.env)
    try:
        return body(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def server_cases(args, tmp, setting):
    """(alone, beside the hog) for one server."""
    def body(port):
        alone = run_loads([load(args, port, tmp, "alone")])[0]
        hog = start_hog(args.hog_nice)
        try:
            beside = run_loads([load(args, port, tmp, "hog")])[0]
        finally:
            hog.kill()
            hog.wait()
        return alone, beside
    return with_server(args, tmp, ["--model", args.model, "--max-batch-size", str(args.batch)], setting, body)


def two_models(args, tmp, setting):
    """Each model's items/s loaded alone, then both at once, on one server serving both."""
    config = os.path.join(tmp, "two-models.yaml")
    with open(config, "w") as f:
        f.write(f"models:\n  - {{name: a, path: {os.path.abspath(args.model)}, max_batch_size: {args.batch}}}\n"
                f"  - {{name: b, path: {os.path.abspath(args.model)}, max_batch_size: {args.batch}}}\n")

    def body(port):
        alone = [run_loads([load(args, port, tmp, m, m)])[0] for m in ("a", "b")]
        together = run_loads([load(args, port, tmp, m + "2", m) for m in ("a", "b")])
        return alone, together
    return with_server(args, tmp, ["--config", config], setting, body)


def ratio_cell(ratios):
    return f"{statistics.median(ratios):.0%} ({min(ratios):.0%}–{max(ratios):.0%})"


def figures_cell(values):
    return " ".join(f"{v:.1f}" for v in values)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sparrow", default="build/cli/sparrow")
    p.add_argument("--server", default="build/server/sparrow-server")
    p.add_argument("--baseline-sparrow", help="baseline sparrow binary (default: --sparrow, fixed team)")
    p.add_argument("--baseline-server", help="baseline sparrow-server binary (default: --server, fixed team)")
    p.add_argument("--client", default="build/clients/cli/sparrow-client")
    p.add_argument("--model", default="../shared/models/yolov5n.onnx")
    p.add_argument("--image", default="../shared/data/images/bus.jpg")
    p.add_argument("--batch", type=int, default=1, help="the server's max batch size")
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight per load generator")
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--hog-nice", type=int, default=0, help="niceness of the busy loop")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cases", default="engine,server,two-models",
                   help="comma-separated: quiet (the alone runs only), engine, server, two-models")
    p.add_argument("--out", default="contention.md")
    args = p.parse_args()
    cases = args.cases.split(",")

    rows = {}  # (case, setting) -> list of (figure(s), ratio) per round

    def add(case, setting, figures, alone):
        figures = figures if isinstance(figures, list) else [figures]
        rows.setdefault((case, setting), []).append((figures, [f / a for f, a in zip(figures, alone)]))
        print(f"  {case}, {setting}: " + figures_cell(figures) + " items/s", flush=True)

    adaptive = Setting("adaptive", args.sparrow, args.server, True)
    if args.baseline_sparrow or args.baseline_server:
        baseline = Setting("baseline binaries", args.baseline_sparrow or args.sparrow,
                           args.baseline_server or args.server, True)
    else:
        baseline = Setting("fixed team", args.sparrow, args.server, False)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            print(f"round {r + 1} of {args.rounds}", flush=True)
            if "quiet" in cases or "engine" in cases:
                alone = {}
                for setting in (adaptive, baseline, baseline, adaptive):
                    alone.setdefault(setting.name, []).append(engine_runs(args, tmp, setting, 1)[0])
                quiet = {name: statistics.mean(v) for name, v in alone.items()}
                for setting in (adaptive, baseline):
                    add("engine alone", setting.name, alone[setting.name], [quiet[adaptive.name]] * 2)
            if "engine" in cases:
                for setting in (adaptive, baseline):
                    add("engine pair (each)", setting.name, engine_runs(args, tmp, setting, 2),
                        [quiet[setting.name]] * 2)
                    add("engine + hog", setting.name, engine_beside_hog(args, tmp, setting), [quiet[setting.name]])
            if "server" in cases:
                quiet = {}
                for setting in (adaptive, baseline):
                    quiet[setting.name], beside = server_cases(args, tmp, setting)
                    add("server alone", setting.name, quiet[setting.name], [quiet[adaptive.name]])
                    add("server + hog", setting.name, beside, [quiet[setting.name]])
            if "two-models" in cases:
                for setting in (adaptive, baseline):
                    alone, together = two_models(args, tmp, setting)
                    add("server, one model loaded", setting.name, alone, alone)
                    add("server, two models loaded (each)", setting.name, together, alone)

    lines = [
        "# Sparrow on shared cores",
        "",
        f"- Command: `{' '.join([os.path.basename(sys.executable)] + sys.argv)}`",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}; CPU: {cpu_model()}, "
        f"{os.cpu_count()} cores; model {os.path.basename(args.model)}",
        f"- {args.rounds} interleaved rounds, {args.warmup:g} s warm-up and {args.duration:g} s measured per run; "
        f"hog: a Python busy loop at nice {args.hog_nice}; server: --max-batch-size {args.batch}, "
        f"sparrow-client load --mode infer at concurrency {args.concurrency}",
        "- Ratio: the round's figure ÷ the same setting alone in the same round (for \"engine alone\" and "
        "\"server alone\": ÷ adaptive alone); median (range) over rounds",
        f"- Baseline: {baseline.name}" + (f" ({baseline.sparrow}, {baseline.server})" if baseline.name != "fixed team"
                                          else " (SPARROW_ADAPTIVE_THREADS=0)"),
        "",
        "| case | threads | items/s per round | ratio |",
        "|---|---|---|---:|",
    ]
    for (case, setting), runs in rows.items():
        figures = " / ".join(figures_cell(f) for f, _ in runs)
        lines.append(f"| {case} | {setting} | {figures} | {ratio_cell([x for _, rs in runs for x in rs])} |")
    text = "\n".join(lines) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
