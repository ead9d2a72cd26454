#!/usr/bin/python3
"""Side-by-side benchmark of Sparrow, ONNX Runtime and OpenCV DNN on the same models.

For every model and batch size the engines run one after the other (interleaved, so that the noise
of a shared machine falls on all of them alike), each under `/usr/bin/time -v` for its peak RSS, with
the same thread count, duration and warmup. The result is a markdown table, written to --out and
printed to stdout. An engine that fails is shown as "n/a (reason)" and the run goes on.

Example:
  /usr/bin/python3 benchmarks/compare.py --sparrow build/cli/sparrow \\
      --opencv-bench build/benchmarks/peers/opencv/opencv_bench \\
      --models yolov5n=../shared/models/yolov5n.onnx,dynamic=../shared/models/yolov5n-dynamic.onnx \\
      --batch-sizes 1,8 --num-cores 2 --time 20 --warmup 3 --out results.md

A quantized model names its float original with float=NAME; the report then adds its speed-up over
ONNX Runtime on the float file and on the same file, its peak RSS against the float model's and how
much smaller its file is:
  /usr/bin/python3 benchmarks/compare.py --sparrow build/cli/sparrow --engines sparrow,onnxruntime \\
      --models yolov5n=../shared/models/yolov5n.onnx yolov5n-int8=yolov5n-int8.onnx,float=yolov5n \\
      --batch-sizes 1,8 --out int8.md

Standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_ORT_BENCH = HERE / "peers" / "ort" / "ort_bench.js"
TIME_BIN = "/usr/bin/time"

SPARROW, ORT, OPENCV = "sparrow", "onnxruntime", "opencv"
ALL_ENGINES = (SPARROW, ORT, OPENCV)
# Shown until an engine's own JSON names it (its "engine" field).
DEFAULT_LABELS = {SPARROW: "sparrow", ORT: "onnxruntime", OPENCV: "opencv-dnn"}
# Engines that get the model's dynamic variant for batch > 1 when there is one.
USES_DYNAMIC_VARIANT = {ORT, OPENCV}
REQUIRED_FIELDS = ("items_per_second", "ms_per_batch", "p90")


@dataclass
class Model:
    name: str
    path: Path
    dynamic: Path | None = None
    float_model: str | None = None  # name of the model this one was quantized from


@dataclass
class RunResult:
    engine: str
    model: str
    batch: int
    model_file: Path
    command: list[str]
    data: dict | None = None
    rss_mib: float | None = None
    reason: str | None = None  # set when the run failed

    @property
    def ok(self) -> bool:
        return self.reason is None and self.data is not None

    @property
    def items_per_second(self) -> float:
        return float(self.data["items_per_second"]) if self.ok else float("nan")


@dataclass
class Cell:
    """The run chosen to represent one (model, batch, engine) in the table, plus all its repeats."""

    runs: list[RunResult] = field(default_factory=list)

    def representative(self) -> RunResult:
        good = sorted((r for r in self.runs if r.ok), key=lambda r: r.items_per_second)
        if good:
            return good[(len(good) - 1) // 2]  # median run (lower middle for an even count)
        return self.runs[-1]


# ----------------------------------------------------------------------------------------------
# command line


def parse_model(text: str) -> Model:
    """NAME=PATH[,dynamic=PATH][,float=NAME]"""
    name, sep, rest = text.partition("=")
    if not sep or not name or not rest:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH[,dynamic=PATH][,float=NAME], got '{text}'")
    parts = rest.split(",")
    model = Model(name=name, path=Path(parts[0]))
    for extra in parts[1:]:
        key, sep, value = extra.partition("=")
        if key not in ("dynamic", "float") or not sep or not value:
            raise argparse.ArgumentTypeError(
                f"unknown model option '{extra}' in '{text}' (dynamic=PATH or float=NAME of another model)")
        if key == "dynamic":
            model.dynamic = Path(value)
        else:
            model.float_model = value
    for p in (model.path, model.dynamic):
        if p is not None and not p.is_file():
            raise argparse.ArgumentTypeError(f"model file not found: {p}")
    return model


def parse_int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got '{text}'")
    return values


def parse_engines(text: str) -> list[str]:
    engines = [e.strip() for e in text.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ALL_ENGINES]
    if unknown or not engines:
        raise argparse.ArgumentTypeError(f"engines must be among {','.join(ALL_ENGINES)}, got '{text}'")
    return engines


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Run Sparrow, ONNX Runtime and OpenCV DNN side by side and write a markdown table.")
    p.add_argument("--sparrow", type=Path, help="path to the sparrow CLI binary")
    p.add_argument("--opencv-bench", type=Path, help="path to the opencv_bench binary")
    p.add_argument("--ort-bench", type=Path, default=DEFAULT_ORT_BENCH,
                   help="path to ort_bench.js (default: %(default)s)")
    p.add_argument("--node", default="node", help="node executable for the ONNX Runtime runner")
    p.add_argument("--models", type=parse_model, nargs="+", action="extend", required=True,
                   metavar="NAME=PATH[,dynamic=PATH]",
                   help="models to run; the dynamic variant is used by ONNX Runtime and OpenCV at batch > 1")
    p.add_argument("--batch-sizes", type=parse_int_list, default=[1], help="e.g. 1,8 (default: 1)")
    p.add_argument("--num-cores", type=int, default=os.cpu_count() or 1,
                   help="threads for every engine (default: all, %(default)s)")
    p.add_argument("--time", type=float, default=20.0, help="timed seconds per run (default: %(default)s)")
    p.add_argument("--warmup", type=float, default=3.0, help="warmup seconds per run (default: %(default)s)")
    p.add_argument("--engines", type=parse_engines, default=list(ALL_ENGINES),
                   help="comma-separated subset of %s (default: all)" % ",".join(ALL_ENGINES))
    p.add_argument("--repeats", type=int, default=1,
                   help="rounds per configuration; the table shows each engine's median run (default: 1)")
    p.add_argument("--run-timeout", type=float, default=None,
                   help="seconds before a single run is killed (default: warmup + time + 300)")
    p.add_argument("--out", type=Path, required=True, help="markdown file to write")
    p.add_argument("--json-dir", type=Path,
                   help="keep every run's JSON, log and /usr/bin/time output here, plus summary.json")
    return p


# ----------------------------------------------------------------------------------------------
# machine description


def exact_command_line() -> str:
    try:
        raw = Path("/proc/self/cmdline").read_bytes()
        argv = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        if argv:
            return shlex.join(argv)
    except OSError:
        pass
    return shlex.join([sys.executable, *sys.argv])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown CPU"


def cores_available() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# ----------------------------------------------------------------------------------------------
# running one engine


def engine_command(engine: str, args, model_file: Path, batch: int, json_file: Path) -> tuple[list[str] | None, str | None]:
    """The command for one run, or (None, reason) when the engine cannot be started at all."""
    common = [str(model_file), "--batch-size", str(batch), "--num-cores", str(args.num_cores),
              "--time", f"{args.time:g}", "--warmup", f"{args.warmup:g}", "--export-json", str(json_file)]
    if engine == SPARROW:
        if args.sparrow is None:
            return None, "no --sparrow binary given"
        if not os.access(args.sparrow, os.X_OK):
            return None, f"sparrow binary not found or not executable: {args.sparrow}"
        return [str(args.sparrow), "benchmark", *common], None
    if engine == ORT:
        node = shutil.which(args.node)
        if node is None:
            return None, f"node not found ({args.node})"
        if not args.ort_bench.is_file():
            return None, f"ort_bench.js not found: {args.ort_bench}"
        return [node, str(args.ort_bench), *common], None
    if engine == OPENCV:
        if args.opencv_bench is None:
            return None, "no --opencv-bench binary given"
        if not os.access(args.opencv_bench, os.X_OK):
            return None, f"opencv_bench not found or not executable: {args.opencv_bench}"
        return [str(args.opencv_bench), *common], None
    raise ValueError(engine)


def parse_time_output(text: str) -> tuple[float | None, str | None]:
    """Peak RSS in MiB and, if the command died of a signal, a description of it."""
    rss = None
    m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", text)
    if m:
        rss = int(m.group(1)) / 1024.0
    m = re.search(r"Command terminated by signal (\d+)", text)
    died = None
    if m:
        num = int(m.group(1))
        try:
            died = f"killed by {signal.Signals(num).name}"
        except ValueError:
            died = f"killed by signal {num}"
    return rss, died


def failure_reason(stderr: str, stdout: str) -> str | None:
    """The most telling line of a failed run's output: its own 'error:' line if it printed one."""
    lines = [l.strip() for l in (stderr + "\n" + stdout).splitlines() if l.strip()]
    for line in reversed(lines):
        m = re.search(r"\berror:\s*(.*)", line, re.IGNORECASE)
        if m and not line.startswith("[ERROR"):  # skip OpenCV's own log lines
            return m.group(1).strip() or line
    err_lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    return err_lines[-1] if err_lines else None


def run_engine(engine: str, args, model: Model, batch: int, workdir: Path, round_no: int) -> RunResult:
    use_dynamic = batch > 1 and engine in USES_DYNAMIC_VARIANT and model.dynamic is not None
    model_file = model.dynamic if use_dynamic else model.path
    stem = f"{model.name}_b{batch}_{engine}" + (f"_r{round_no + 1}" if args.repeats > 1 else "")
    json_file = workdir / f"{stem}.json"
    time_file = workdir / f"{stem}.time.txt"
    log_file = workdir / f"{stem}.log"
    for f in (json_file, time_file):
        f.unlink(missing_ok=True)

    cmd, why_not = engine_command(engine, args, model_file, batch, json_file)
    result = RunResult(engine=engine, model=model.name, batch=batch, model_file=model_file, command=cmd or [])
    if cmd is None:
        result.reason = why_not
        return result

    timeout = args.run_timeout if args.run_timeout is not None else args.warmup + args.time + 300
    full = [TIME_BIN, "-v", "-o", str(time_file), *cmd]
    proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", start_new_session=True)
    timed_out = False
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: /usr/bin/time and the benchmark
        stdout, stderr = proc.communicate()
    log_file.write_text(f"$ {shlex.join(full)}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n"
                        f"--- exit status {proc.returncode}\n")

    time_text = time_file.read_text(errors="replace") if time_file.exists() else ""
    result.rss_mib, died = parse_time_output(time_text)

    if timed_out:
        result.reason = f"timed out after {timeout:g} s"
    elif proc.returncode != 0:
        result.reason = died or failure_reason(stderr, stdout) or f"exit status {proc.returncode}"
    elif not json_file.exists():
        result.reason = f"wrote no JSON to {json_file.name}"
    else:
        try:
            data = json.loads(json_file.read_text())
        except (OSError, json.JSONDecodeError) as e:
            result.reason = f"unreadable JSON: {e}"
        else:
            missing = [k for k in REQUIRED_FIELDS if not isinstance(data.get(k), (int, float))]
            if missing:
                result.reason = f"JSON lacks {', '.join(missing)}"
            elif not data["items_per_second"] > 0:
                result.reason = f"items_per_second is {data['items_per_second']}"
            else:
                result.data = data
    return result


# ----------------------------------------------------------------------------------------------
# report


def md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def fmt(value, digits: int) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "—"


def engine_label(run: RunResult, dynamic_note: bool) -> str:
    label = str(run.data.get("engine", DEFAULT_LABELS[run.engine])) if run.ok else DEFAULT_LABELS[run.engine]
    return label + (" (dynamic model)" if dynamic_note else "")


def build_report(args, models: list[Model], cells: dict, header: dict) -> str:
    lines = [
        "# Sparrow vs peers",
        "",
        f"- Command: `{header['command']}`",
        f"- Date: {header['date']}; CPU: {header['cpu']}, {header['cores']} cores available, "
        f"{args.num_cores} thread(s) per engine",
        f"- Each run: {args.warmup:g} s warmup, then {args.time:g} s timed; seeded random input in [0, 1); "
        f"engines interleaved per configuration"
        + (f"; {args.repeats} rounds, median run shown" if args.repeats > 1 else ""),
        "",
        "| model | batch | engine | items/s | ms/batch (mean) | p90 ms | peak RSS MiB | Sparrow ÷ engine (items/s) |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    failures = []
    for model in models:
        for batch in args.batch_sizes:
            runs = {e: cells[(model.name, batch, e)].representative() for e in args.engines}
            sparrow = runs.get(SPARROW)
            for engine in args.engines:
                run = runs[engine]
                dyn = run.model_file == model.dynamic and model.dynamic is not None and model.dynamic != model.path
                label = md_escape(engine_label(run, dyn))
                rss = fmt(run.rss_mib, 1)
                if not run.ok:
                    failures.append(run)
                    reason = md_escape(shorten(run.reason or "failed"))
                    lines.append(f"| {model.name} | {batch} | {label} | n/a ({reason}) | — | — | {rss} | — |")
                    continue
                d = run.data
                mean = d.get("batch_times_mean", d["ms_per_batch"])
                if engine == SPARROW:
                    ratio = "baseline"
                elif sparrow is not None and sparrow.ok:
                    ratio = f"{sparrow.items_per_second / run.items_per_second:.2f}x"
                else:
                    ratio = "n/a"
                lines.append(f"| {model.name} | {batch} | {label} | {fmt(d['items_per_second'], 2)} | "
                             f"{fmt(mean, 2)} | {fmt(d['p90'], 2)} | {rss} | {ratio} |")
    lines += quantized_report(args, models, cells)
    lines += [
        "",
        "items/s = batch size × batches / seconds timed; ms/batch and p90 are per-batch wall times; "
        "peak RSS is /usr/bin/time's maximum resident set size of the whole process (for ONNX Runtime "
        "that includes Node.js). Sparrow ÷ engine > 1 means Sparrow processed more items per second.",
        "",
        "Model files:",
    ]
    for model in models:
        text = f"- {model.name}: `{model.path}`"
        if model.dynamic is not None:
            used_by = [DEFAULT_LABELS[e] for e in args.engines if e in USES_DYNAMIC_VARIANT]
            text += f"; at batch > 1 {' and '.join(used_by) or 'no engine'} use `{model.dynamic}`"
        lines.append(text)
    if failures:
        lines += ["", "Failures:"]
        for run in failures:
            cmd = f" — `{shlex.join(run.command)}`" if run.command else ""
            lines.append(f"- {run.model} batch {run.batch} {DEFAULT_LABELS[run.engine]}: "
                         f"{md_escape(run.reason or 'failed')}{cmd}")
    return "\n".join(lines) + "\n"


def quantized_report(args, models: list[Model], cells: dict) -> list[str]:
    """Each quantized model against its float original: the speed-ups and the file and memory sizes."""
    by_name = {m.name: m for m in models}
    rows = []
    for model in models:
        original = by_name.get(model.float_model) if model.float_model else None
        if original is None:
            continue
        size_ratio = original.path.stat().st_size / model.path.stat().st_size
        for batch in args.batch_sizes:
            def run(m, e, batch=batch):
                return cells[(m.name, batch, e)].representative() if e in args.engines else None
            ours, ort_same, ort_float, ours_float = run(model, SPARROW), run(model, ORT), run(original, ORT), run(original, SPARROW)

            def ratio(a, b):
                return f"{a.items_per_second / b.items_per_second:.2f}x" if a and b and a.ok and b.ok else "n/a"

            def rss(a, b):
                return f"{a.rss_mib:.0f} / {b.rss_mib:.0f}" if a and b and a.rss_mib and b.rss_mib else "n/a"
            rows.append(f"| {model.name} | {batch} | {ratio(ours, ort_float)} | {ratio(ours, ort_same)} | "
                        f"{ratio(ours, ours_float)} | {rss(ours, ours_float)} | {size_ratio:.2f}x |")
    if not rows:
        return []
    return [
        "",
        "Compressed models (quantized or pruned) against their float originals (same runs as above):",
        "",
        "| model | batch | Sparrow ÷ ORT on the float file | Sparrow ÷ ORT on the same file | Sparrow ÷ Sparrow float "
        "| Sparrow peak RSS MiB, quantized / float | file smaller by |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
    ]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.num_cores < 1 or args.time <= 0 or args.warmup < 0 or args.repeats < 1:
        print("compare.py: --num-cores and --repeats must be >= 1, --time > 0, --warmup >= 0", file=sys.stderr)
        return 2
    if not os.access(TIME_BIN, os.X_OK):
        print(f"compare.py: {TIME_BIN} is needed for peak RSS (apt-get install time)", file=sys.stderr)
        return 2
    models: list[Model] = args.models
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        print(f"compare.py: model names must be unique, got {names}", file=sys.stderr)
        return 2
    unknown = [m.float_model for m in models if m.float_model and m.float_model not in names]
    if unknown:
        print(f"compare.py: float={unknown[0]} names no model given with --models", file=sys.stderr)
        return 2

    header = {
        "command": exact_command_line(),
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu_model(),
        "cores": cores_available(),
    }

    tmp = None
    if args.json_dir is not None:
        workdir = args.json_dir
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="sparrow-compare-")
        workdir = Path(tmp.name)

    cells = {(m.name, b, e): Cell() for m in models for b in args.batch_sizes for e in args.engines}
    total = len(cells) * args.repeats
    done = 0
    try:
        for model in models:
            for batch in args.batch_sizes:
                for round_no in range(args.repeats):
                    # Rotate the order each round so no engine always runs first (or right after another).
                    k = round_no % len(args.engines)
                    for engine in args.engines[k:] + args.engines[:k]:
                        done += 1
                        print(f"[{done}/{total}] {model.name} batch {batch} {DEFAULT_LABELS[engine]} ...",
                              end="", file=sys.stderr, flush=True)
                        run = run_engine(engine, args, model, batch, workdir, round_no)
                        cells[(model.name, batch, engine)].runs.append(run)
                        rss = f", peak RSS {run.rss_mib:.1f} MiB" if run.rss_mib is not None else ""
                        status = f" {run.items_per_second:.2f} items/s{rss}" if run.ok else f" n/a ({run.reason})"
                        print(status, file=sys.stderr, flush=True)

        report = build_report(args, models, cells, header)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
        if args.json_dir is not None:
            summary = {
                **header,
                "num_cores": args.num_cores, "time": args.time, "warmup": args.warmup,
                "runs": [
                    {"model": r.model, "batch_size": r.batch, "engine": r.engine, "model_file": str(r.model_file),
                     "command": r.command, "peak_rss_mib": r.rss_mib, "error": r.reason, "result": r.data}
                    for cell in cells.values() for r in cell.runs
                ],
            }
            (workdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    finally:
        if tmp is not None:
            tmp.cleanup()
    sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
