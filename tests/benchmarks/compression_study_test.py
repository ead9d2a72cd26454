#!/usr/bin/env python3
"""compression_study.py --reuse: a row takes its file, compression time and accuracy from what an
earlier run left in the work folder, and a row missing any of them is measured anew. The held-out
set: the calibration dataset's last images and their labels, beyond those calibration reads."""
import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import compression_study as study  # noqa: E402


def check_held_out_set() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source, work = Path(tmp) / "calib", Path(tmp) / "work"
        (source / "images" / "train").mkdir(parents=True)
        (source / "labels" / "train").mkdir(parents=True)
        (source / "data.yaml").write_text("path: .\ntrain: images/train\n")
        for i in range(6):
            (source / "images" / "train" / f"{i}.jpg").write_bytes(b"jpg")
            if i != 5:  # an image without objects has no label file
                (source / "labels" / "train" / f"{i}.txt").write_text("0 0.5 0.5 0.1 0.1\n")
        work.mkdir()
        args = argparse.Namespace(held_out=2, calibration=source, calibration_images=4, work=work)
        held = study.held_out_set(args)
        assert sorted(p.name for p in (held / "images" / "train").iterdir()) == ["4.jpg", "5.jpg"]
        assert sorted(p.name for p in (held / "labels" / "train").iterdir()) == ["4.txt"]
        assert (held / "images" / "train" / "4.jpg").resolve() == (source / "images" / "train" / "4.jpg").resolve()
        assert (held / "data.yaml").read_text() == (source / "data.yaml").read_text()
        assert study.held_out_set(args) == held, "a second run replaces the links"
        args.calibration_images = 5  # 5 + 2 > 6: the sets would overlap
        try:
            study.held_out_set(args)
            raise AssertionError("overlapping held-out and calibration images were accepted")
        except SystemExit as e:
            assert "more than 5 + 2 images" in str(e), e
        args.held_out = 0
        assert study.held_out_set(args) is None


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
    check_held_out_set()
    print("compression_study --reuse, held-out set: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
