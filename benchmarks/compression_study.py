#!/usr/bin/python3
"""The compression study: accuracy x size x speed of every compression technique, from one command.

For each technique and level it runs `sparrow compress` on the model (timed, with its peak RSS),
then measures on the file it wrote:
  - COCO AP50-95 and AP50 on coco128 (`sparrow eval --export-json`), and their % of dense;
  - AP50-95 on a second, held-out set: the last `--held-out` images of the calibration folder,
    which calibration never reads (coco128 alone moves by about +-0.004 AP with any change);
  - the file size, raw and gzip-compressed, and how many times smaller than dense it is;
  - Sparrow's items/s at each batch size and ONNX Runtime's on the same file, interleaved so that
    the noise of a shared machine falls on both alike (compare.py's runner).
It writes the markdown report (default docs/compression_study.md) with the machine, the commands
behind every cell and two plots: accuracy vs speed-up and accuracy vs size, one curve per
technique. Every figure in the report comes out of the run; nothing is typed by hand.

  /usr/bin/python3 benchmarks/compression_study.py --sparrow build/cli/sparrow

The model should have a dynamic batch axis (the default is yolov5n-dynamic.onnx) so that ONNX
Runtime can run the compressed files at batch 8 too. Calibration uses coco_train160, never the
evaluation set. `--only dense,int8,...` runs a subset of the techniques (keys in TECHNIQUES).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the side-by-side runner: one engine, one model, one batch)


@dataclass(frozen=True)
class Technique:
    key: str          # names its files and selects it with --only
    family: str       # one curve in the plots, one group in the table
    level: float      # target sparsity (0 for none)
    flags: tuple      # sparrow compress flags; () for the dense model itself


def techniques() -> list[Technique]:
    rows = [Technique("dense", "dense FP32", 0, ()), Technique("int8", "INT8", 0, ("--int8",))]
    for s in (30, 50, 70):
        rows.append(Technique(f"magnitude{s}", "magnitude", s, ("--sparsity", f"0.{s}", "--method", "magnitude")))
    for block, name in ((1, "one-shot"), (4, "one-shot 4-block")):
        for s in (30, 50, 70, 85):
            flags = ("--sparsity", f"0.{s}", "--method", "obs", "--block", str(block))
            rows.append(Technique(f"obs{s}b{block}", name, s, flags))
            rows.append(Technique(f"obs{s}b{block}-int8", name + " + INT8", s, flags + ("--int8",)))
    for s in (30, 50, 70, 85):  # what sensitivity allocation (obs's default) gains over uniform
        flags = ("--sparsity", f"0.{s}", "--method", "obs", "--allocation", "uniform")
        rows.append(Technique(f"obs{s}b1-uniform", "one-shot, uniform per layer", s, flags))
    for s in (30, 50):  # low-rank 1x1 convs: S is the fraction of their weights (and MACs) removed
        flags = ("--sparsity", f"0.{s}", "--method", "lowrank")
        rows.append(Technique(f"lowrank{s}", "low-rank 1x1", s, flags))
        rows.append(Technique(f"lowrank{s}-int8", "low-rank 1x1 + INT8", s, flags + ("--int8",)))
    return rows


TECHNIQUES = techniques()


@dataclass
class Row:
    technique: Technique
    file: Path
    compress_command: list[str] = field(default_factory=list)
    compress_seconds: float | None = None
    compress_rss_mib: float | None = None
    eval_command: list[str] = field(default_factory=list)
    ap50_95: float | None = None
    ap50: float | None = None
    held_out_command: list[str] = field(default_factory=list)
    held_out_ap50_95: float | None = None
    bytes_raw: int | None = None
    bytes_gzip: int | None = None
    speed: dict = field(default_factory=dict)  # (engine, batch) -> compare.RunResult
    failure: str | None = None


# ----------------------------------------------------------------------------------------------
# command line


def default_shared() -> Path:
    env = os.environ.get("SPARROW_SHARED_DIR")
    return Path(env) if env else REPO.parent / "shared"


def build_parser() -> argparse.ArgumentParser:
    shared = default_shared()
    p = argparse.ArgumentParser(description="Accuracy, size and speed of every compression technique.")
    p.add_argument("--sparrow", type=Path, default=REPO / "build" / "cli" / "sparrow", help="sparrow CLI binary")
    p.add_argument("--model", type=Path, default=shared / "models" / "yolov5n-dynamic.onnx",
                   help="float ONNX model, dynamic batch (default: %(default)s)")
    p.add_argument("--data", type=Path, default=shared / "data" / "coco128", help="evaluation set")
    p.add_argument("--calibration", type=Path, default=shared / "data" / "coco_train160",
                   help="calibration images (never the evaluation set)")
    p.add_argument("--calibration-images", type=int, default=64)
    p.add_argument("--held-out", type=int, default=96,
                   help="the last N images of --calibration (a YOLO dataset) as a second evaluation set; they "
                        "must lie beyond the --calibration-images that calibration reads (0: none)")
    p.add_argument("--only", default="", help="comma-separated technique keys (default: every one)")
    p.add_argument("--batch-sizes", type=compare.parse_int_list, default=[1, 8])
    p.add_argument("--num-cores", type=int, default=compare.cores_available())
    p.add_argument("--time", type=float, default=10.0, help="timed seconds per speed run")
    p.add_argument("--warmup", type=float, default=2.0, help="warmup seconds per speed run")
    p.add_argument("--work", type=Path, default=REPO / "build" / "compression_study",
                   help="compressed models, logs and results.json")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "compression_study.md")
    p.add_argument("--reuse", action="store_true",
                   help="take each row's compressed file, compression time and accuracy from --work, as an earlier "
                        "run of the same commit left them, and measure size and speed again (rows it lacks are run)")
    p.add_argument("--ort-bench", type=Path, default=compare.DEFAULT_ORT_BENCH)
    p.add_argument("--node", default="node")
    return p


def selected(only: str) -> list[Technique]:
    if not only:
        return TECHNIQUES
    keys = [k.strip() for k in only.split(",") if k.strip()]
    known = {t.key: t for t in TECHNIQUES}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise SystemExit(f"compression_study: unknown technique(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if "dense" not in keys:
        keys.insert(0, "dense")  # every ratio is against dense
    return [known[k] for k in keys]


# ----------------------------------------------------------------------------------------------
# measuring one row


def run_logged(cmd: list[str], log: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    log.write_text(f"$ {shlex.join(cmd)}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}\n"
                   f"--- exit status {proc.returncode}\n")
    return proc


def elapsed_seconds(time_output: str) -> float | None:
    """GNU time's wall clock ("Elapsed (wall clock) time (h:mm:ss or m:ss): 2:47.64") in seconds."""
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\):\s*([\d:.]+)", time_output)
    if not m:
        return None
    seconds = 0.0
    for part in m.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def reused(row: Row, args) -> bool:
    """With --reuse, fills the row's compression and accuracy from what an earlier run left."""
    key = row.technique.key
    time_file, eval_file = args.work / f"{key}.compress.time.txt", args.work / f"{key}.eval.json"
    if not args.reuse or not eval_file.exists() or (row.technique.flags and not (row.file.exists() and time_file.exists())):
        return False
    if row.technique.flags:
        logged = args.work.joinpath(f"{key}.compress.log").read_text().splitlines()[0]  # "$ time -v -o FILE cmd..."
        row.compress_command = shlex.split(logged[2:])[4:]
        text = time_file.read_text()
        row.compress_seconds = elapsed_seconds(text)
        row.compress_rss_mib, _ = compare.parse_time_output(text)
    evaluate(row, args, reuse=True)  # reads the eval file it left
    return True


def compress(row: Row, args) -> None:
    t = row.technique
    calibrated = "--int8" in t.flags or "obs" in t.flags or "lowrank" in t.flags
    calibration = ("--calibration", str(args.calibration), "--calibration-images", str(args.calibration_images))
    row.compress_command = [str(args.sparrow), "compress", str(args.model), "-o", str(row.file), *t.flags,
                            *(calibration if calibrated else ())]
    time_file = args.work / f"{t.key}.compress.time.txt"
    start = time.monotonic()
    proc = run_logged([compare.TIME_BIN, "-v", "-o", str(time_file), *row.compress_command],
                      args.work / f"{t.key}.compress.log")
    row.compress_seconds = time.monotonic() - start
    row.compress_rss_mib, _ = compare.parse_time_output(time_file.read_text() if time_file.exists() else "")
    if proc.returncode != 0:
        row.failure = "compress: " + (compare.failure_reason(proc.stderr, proc.stdout) or f"exit {proc.returncode}")


def run_eval(row: Row, args, data: Path, name: str, what: str, reuse: bool) -> tuple[list[str], dict | None]:
    """`sparrow eval` of the row's file on `data`, into the work folder's KEY.NAME.json: its command
    and its statistics (an earlier run's with `reuse`, when it left them), or None with row.failure
    set, naming `what` failed."""
    out = args.work / f"{row.technique.key}.{name}.json"
    command = [str(args.sparrow), "eval", str(row.file), "--data", str(data), "-x", str(out)]
    if not (reuse and out.exists()):
        out.unlink(missing_ok=True)
        proc = run_logged(command, args.work / f"{row.technique.key}.{name}.log")
        if proc.returncode != 0 or not out.exists():
            row.failure = f"{what}: " + (compare.failure_reason(proc.stderr, proc.stdout) or f"exit {proc.returncode}")
            return command, None
    return command, json.loads(out.read_text())


def evaluate(row: Row, args, reuse: bool = False) -> None:
    row.eval_command, stats = run_eval(row, args, args.data, "eval", "eval", reuse)
    if stats:
        row.ap50_95, row.ap50 = stats["ap50_95"], stats["ap50"]


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def held_out_set(args) -> Path | None:
    """Links to the last --held-out images of the calibration dataset and their labels, in the work
    folder, laid out as a YOLO dataset that `sparrow eval` reads; None with --held-out 0."""
    if args.held_out <= 0:
        return None
    source = args.calibration
    images = sorted(p for p in (source / "images").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not (source / "data.yaml").exists() or args.held_out + args.calibration_images > len(images):
        raise SystemExit(f"compression_study: --held-out {args.held_out} needs a YOLO dataset (data.yaml, images/, "
                         f"labels/) with more than {args.calibration_images} + {args.held_out} images; "
                         f"{source} has {len(images)}")
    target = args.work / "held_out"
    shutil.rmtree(target, ignore_errors=True)
    for image in images[-args.held_out:]:
        relative = image.relative_to(source / "images")
        label = (source / "labels" / relative).with_suffix(".txt")
        for src, dst in ((image, target / "images" / relative), (label, (target / "labels" / relative).with_suffix(".txt"))):
            if src.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.symlink_to(src.resolve())
    (target / "data.yaml").write_text((source / "data.yaml").read_text())
    return target


def evaluate_held_out(row: Row, args) -> None:
    if args.held_out_set is None:
        return
    row.held_out_command, stats = run_eval(row, args, args.held_out_set, "heldout.eval", "held-out eval", args.reuse)
    if stats:
        row.held_out_ap50_95 = stats["ap50_95"]


def measure_size(row: Row) -> None:
    data = row.file.read_bytes()
    row.bytes_raw = len(data)
    row.bytes_gzip = len(gzip.compress(data, compresslevel=9, mtime=0))


def measure_speed(row: Row, args) -> None:
    model = compare.Model(name=row.technique.key, path=row.file)
    runner = argparse.Namespace(sparrow=args.sparrow, node=args.node, ort_bench=args.ort_bench, opencv_bench=None,
                                num_cores=args.num_cores, time=args.time, warmup=args.warmup, repeats=1,
                                run_timeout=None)
    for batch in args.batch_sizes:
        for engine in (compare.SPARROW, compare.ORT):
            row.speed[(engine, batch)] = compare.run_engine(engine, runner, model, batch, args.work, 0)


def measure(t: Technique, args) -> Row:
    row = Row(technique=t, file=args.model if not t.flags else args.work / f"{args.model.stem}-{t.key}.onnx")
    print(f"compression_study: {t.key} ...", file=sys.stderr, flush=True)
    again = reused(row, args)
    if t.flags and not again:
        compress(row, args)
    for step in ((evaluate,) if not again else ()) + (evaluate_held_out, lambda r, a: measure_size(r), measure_speed):
        if row.failure:
            break
        step(row, args)
    return row


# ----------------------------------------------------------------------------------------------
# report


def ratio(value, base):
    return value / base if value is not None and base else None


def percent_of(value, base):
    r = ratio(value, base)
    return None if r is None else 100 * r


def f(value, digits=2, suffix=""):
    return "n/a" if value is None else f"{value:.{digits}f}{suffix}"


def items_per_second(row: Row, engine: str, batch: int):
    run = row.speed.get((engine, batch))
    return run.items_per_second if run is not None and run.ok else None


def table(rows: list[Row], batches: list[int]) -> list[str]:
    dense = rows[0]
    head = ["technique", "sparsity", "AP50-95", "% dense", "AP50", "% dense", "held-out AP50-95", "% dense", "MB",
            "gzip MB", "x smaller (gzip)"]
    for b in batches:
        head += [f"Sparrow b{b} items/s", "x dense", f"ORT b{b} items/s", "Sparrow / ORT"]
    head += ["compress s", "compress peak MiB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r.failure:
            lines.append(f"| {r.technique.family} | {r.technique.level:g} % | failed: {compare.md_escape(r.failure)} |")
            continue
        cells = [r.technique.family, f"{r.technique.level:g} %", f(r.ap50_95, 4), f(percent_of(r.ap50_95, dense.ap50_95), 1),
                 f(r.ap50, 4), f(percent_of(r.ap50, dense.ap50), 1), f(r.held_out_ap50_95, 4),
                 f(percent_of(r.held_out_ap50_95, dense.held_out_ap50_95), 1), f(r.bytes_raw / 1e6), f(r.bytes_gzip / 1e6),
                 f(ratio(dense.bytes_gzip, r.bytes_gzip), 2, "x")]
        for b in batches:
            s, o = items_per_second(r, compare.SPARROW, b), items_per_second(r, compare.ORT, b)
            cells += [f(s, 1), f(ratio(s, items_per_second(dense, compare.SPARROW, b)), 2, "x"), f(o, 1),
                      f(ratio(s, o), 2, "x")]
        cells += [f(r.compress_seconds, 0) if r.technique.flags else "-",
                  f(r.compress_rss_mib, 0) if r.technique.flags else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def allocation_gains(rows: list[Row]) -> list[str]:
    """Sensitivity allocation (obs's default) against every layer at the target, where both ran."""
    by_key = {r.technique.key: r for r in rows if not r.failure and r.ap50_95 is not None}
    lines = []
    for r in rows:
        if not r.technique.key.endswith("-uniform") or r.technique.key not in by_key:
            continue
        sensitivity = by_key.get(r.technique.key[: -len("-uniform")])
        if sensitivity is None:
            continue
        gain = sensitivity.ap50_95 - r.ap50_95
        lines.append(f"- {r.technique.level:g} % unstructured: AP50-95 {sensitivity.ap50_95:.4f} with sensitivity "
                     f"allocation, {r.ap50_95:.4f} uniform: {gain:+.4f} ({100 * gain / r.ap50_95:+.1f} %)")
    if not lines:
        return []
    return ["Sensitivity allocation against uniform (one-shot, the same target over the pruned convs):", "", *lines, ""]


def shown(cmd: list[str]) -> str:
    """A command as the report prints it: paths beside the checkout relative to it, so that the
    report names no machine's folders and its commands run from the repository's root."""
    def rel(arg: str) -> str:
        if not os.path.isabs(arg):
            return arg
        r = os.path.relpath(arg, REPO)
        return r if not r.startswith("../..") else arg
    return shlex.join([rel(a) for a in cmd])


def commands(rows: list[Row], args) -> list[str]:
    lines = ["Commands behind every row (the speed runs are `sparrow benchmark FILE --batch-size B --num-cores "
             f"{args.num_cores} --time {args.time:g} --warmup {args.warmup:g}` and `node "
             "benchmarks/peers/ort/ort_bench.js` with the same flags):", ""]
    for r in rows:
        lines.append(f"- {r.technique.key}:")
        if r.compress_command:
            lines.append(f"  `{shown(r.compress_command)}`;")
        lines.append(f"  `{shown(r.eval_command)}`" + (f";\n  `{shown(r.held_out_command)}`" if r.held_out_command else ""))
    return lines


def plot(rows: list[Row], out_dir: Path, stem: str, batch: int, link_from: Path) -> list[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("compression_study: matplotlib is missing (apt-get install python3-matplotlib)")
    dense = rows[0]
    good = [r for r in rows if not r.failure and r.ap50_95 is not None]
    x_of = {
        "speed": lambda r: ratio(items_per_second(r, compare.SPARROW, batch), items_per_second(dense, compare.SPARROW, batch)),
        "size": lambda r: ratio(dense.bytes_gzip, r.bytes_gzip),
    }
    labels = {"speed": f"Sparrow items/s at batch {batch}, x dense FP32", "size": "file size (gzip), x smaller than dense"}
    written = []
    for name, x in x_of.items():
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for family in dict.fromkeys(r.technique.family for r in good):
            pts = sorted((x(r), 100 * r.ap50_95 / dense.ap50_95) for r in good if r.technique.family == family and x(r))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=family)
        ax.set_xlabel(labels[name])
        ax.set_ylabel("AP50-95, % of dense")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        path = out_dir / f"{stem}_accuracy_vs_{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return [f"![accuracy vs {p.stem.rsplit('_', 1)[1]}]({os.path.relpath(p, link_from)})" for p in written]


def git_commit() -> str:
    proc = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def report(rows: list[Row], args, started: str) -> str:
    images = args.out.parent / "images"
    images.mkdir(parents=True, exist_ok=True)
    plots = plot(rows, images, "compression_study", args.batch_sizes[0], args.out.parent)
    lines = [
        "# Compression study: accuracy x size x speed",
        "",
        "Written by `benchmarks/compression_study.py`; every figure below comes out of one run of it.",
        "",
        f"- Run: {started}, commit {git_commit()}, `{shown(shlex.split(compare.exact_command_line()))}`",
        f"- Machine: {compare.cpu_model()}, {args.num_cores} cores used",
        f"- Model: `{args.model.name}`; accuracy on `{args.data.name}` (COCO AP, as pycocotools); calibration: "
        f"{args.calibration_images} images of `{args.calibration.name}` (disjoint from the evaluation set)",
        *([f"- Held-out: the last {args.held_out} images of `{args.calibration.name}`, which calibration never reads "
           f"(links in `{shown([str(args.held_out_set)])}`): a second accuracy figure, as coco128's 128 images move "
           "by about +-0.004 AP50-95 with any change"] if args.held_out_set else []),
        f"- Speed: {args.time:g} s per run after {args.warmup:g} s warmup, Sparrow and ONNX Runtime interleaved; "
        "the machine may be shared, so compare within a run",
        *([f"- `--reuse`: the compressed files, compression times and {args.data.name} accuracy are those an earlier "
           "run left in the work folder (--reuse assumes the compression code has not changed since); the held-out "
           "accuracy where it was missing, the sizes and the speeds were measured in this run"] if args.reuse else []),
        "",
        *table(rows, args.batch_sizes),
        "",
        *allocation_gains(rows),
        *plots,
        "",
        *commands(rows, args),
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    for path, what in ((args.sparrow, "sparrow binary"), (args.model, "model"), (args.data, "evaluation set"),
                       (args.calibration, "calibration folder")):
        if not path.exists():
            raise SystemExit(f"compression_study: {what} not found: {path}")
    args.held_out_set = held_out_set(args)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = [measure(t, args) for t in selected(args.only)]
    if rows[0].failure:
        raise SystemExit(f"compression_study: the dense model failed ({rows[0].failure}); nothing to compare with")
    (args.work / "results.json").write_text(json.dumps([results_json(r) for r in rows], indent=1))
    args.out.write_text(report(rows, args, started))
    print(f"compression_study: wrote {args.out}", file=sys.stderr)
    return 0


def results_json(r: Row) -> dict:
    return {"key": r.technique.key, "family": r.technique.family, "sparsity": r.technique.level,
            "ap50_95": r.ap50_95, "ap50": r.ap50, "held_out_ap50_95": r.held_out_ap50_95, "bytes": r.bytes_raw, "bytes_gzip": r.bytes_gzip,
            "compress_seconds": r.compress_seconds, "compress_rss_mib": r.compress_rss_mib, "failure": r.failure,
            "items_per_second": {f"{e}_b{b}": (run.items_per_second if run.ok else None)
                                 for (e, b), run in r.speed.items()}}


if __name__ == "__main__":
    sys.exit(main())
