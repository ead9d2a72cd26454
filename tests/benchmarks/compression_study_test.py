#!/usr/bin/env python3
"""compression_study.py --reuse: a row takes its file, compression time and accuracy from what an
earlier run left in the work folder, and a row missing any of them is measured anew."""
import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import compression_study as study  # noqa: E402


def main() -> int:
    assert study.elapsed_seconds("\tElapsed (wall clock) time (h:mm:ss or m:ss): 2:47.64\n") == 167.64
    assert study.elapsed_seconds("Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02:03\n") == 3723.0
    assert study.elapsed_seconds("no such line") is None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        args = argparse.Namespace(reuse=True, work=work, sparrow=Path("sparrow"), data=Path("coco128"))
        technique = study.TECHNIQUES[2]  # magnitude30
        row = study.Row(technique=technique, file=work / "m.onnx")
        assert not study.reused(row, args), "nothing to reuse yet"
        row.file.write_bytes(b"onnx")
        (work / f"{technique.key}.compress.log").write_text(
            "$ /usr/bin/time -v -o t.txt sparrow compress in.onnx -o m.onnx --sparsity 0.30\n--- stdout\n")
        (work / f"{technique.key}.compress.time.txt").write_text(
            "\tMaximum resident set size (kbytes): 2048\n\tElapsed (wall clock) time (h:mm:ss or m:ss): 0:01.50\n")
        assert not study.reused(row, args), "no accuracy yet"
        (work / f"{technique.key}.eval.json").write_text(json.dumps({"ap50_95": 0.25, "ap50": 0.4}))
        assert study.reused(row, args)
        assert row.compress_command == ["sparrow", "compress", "in.onnx", "-o", "m.onnx", "--sparsity", "0.30"]
        assert (row.compress_seconds, row.compress_rss_mib, row.ap50_95, row.ap50) == (1.5, 2.0, 0.25, 0.4)
        args.reuse = False
        assert not study.reused(study.Row(technique=technique, file=row.file), args), "only with --reuse"
    print("compression_study --reuse: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
