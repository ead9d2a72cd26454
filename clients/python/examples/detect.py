#!/usr/bin/python3
"""Detects objects in image files with a running sparrow-server and prints them.

    examples/detect.py --server localhost:8001 bus.jpg zidane.jpg
    examples/detect.py --server localhost:8001 --json --classes 0,5 images/   # a folder of images

Text output follows `sparrow detect`; --json prints the same JSON as `sparrow detect --json`
(plus each image's server timings).
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install

from sparrow_client import SparrowClient, SparrowError  # noqa: E402

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def expand(paths):
    """Files as given; folders as their image files, sorted."""
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(str(f) for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(str(p))
    return files


def class_ids(text):
    try:
        return [int(c) for c in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"class ids look like 0,2,5, not '{text}'") from None


def connect(args) -> SparrowClient:
    return SparrowClient(
        args.server,
        tls=args.tls,
        root_certificates=args.ca,
        private_key=args.key,
        certificate_chain=args.cert,
        timeout=args.timeout,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="+", help="image files or folders of images")
    p.add_argument("--server", default=os.environ.get("SPARROW_SERVER", "localhost:8001"),
                   help="host:port of sparrow-server (default: $SPARROW_SERVER or %(default)s)")
    p.add_argument("--model", default="", help="model name (default: the server's default model)")
    p.add_argument("--conf", type=float, help="confidence threshold (default: the model's)")
    p.add_argument("--iou", type=float, help="NMS IoU threshold (default: the model's)")
    p.add_argument("--max-det", type=int, help="most detections per image (default: the model's)")
    p.add_argument("--classes", type=class_ids, action="extend", help="keep only these class ids: 0,2,5")
    p.add_argument("--agnostic", action="store_true", help="class-agnostic NMS")
    p.add_argument("--batch", type=int, default=8, help="images per request (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--timeout", type=float, default=60, help="seconds per request (default: %(default)s)")
    p.add_argument("--tls", action="store_true", help="connect with TLS (system CAs unless --ca)")
    p.add_argument("--ca", help="PEM file of the CA that signed the server's certificate (implies --tls)")
    p.add_argument("--cert", help="PEM client certificate chain, for servers requiring one")
    p.add_argument("--key", help="PEM client private key")
    args = p.parse_args()
    if args.batch < 1:
        p.error("--batch must be at least 1")
    if (args.cert is None) != (args.key is None):
        p.error("--cert and --key go together")

    files = expand(args.images)
    if not files:
        p.error("no images found")
    everything = []
    failures = 0
    with connect(args) as client:
        for start in range(0, len(files), args.batch):
            chunk = files[start:start + args.batch]
            results = None
            while chunk and results is None:
                try:
                    results = client.detect(chunk, model=args.model, conf=args.conf, iou=args.iou,
                                            max_det=args.max_det, classes=args.classes, agnostic=args.agnostic)
                except OSError as e:  # a file that cannot be read: skip it, send the others
                    print(f"detect.py: {e}", file=sys.stderr)
                    failures += 1
                    chunk = [f for f in chunk if f != e.filename]
                except SparrowError as e:
                    # "image N: ..." names the image the server rejected: skip it, send the others.
                    m = re.match(r"image (\d+): (.*)", e.message, re.S)
                    if e.code != "INVALID_ARGUMENT" or not m or int(m.group(1)) >= len(chunk):
                        print(f"detect.py: {', '.join(chunk)}: {e}", file=sys.stderr)
                        failures += len(chunk)
                        break
                    bad = chunk.pop(int(m.group(1)))
                    print(f"detect.py: {bad}: {m.group(2)}", file=sys.stderr)
                    failures += 1
            for path, r in zip(chunk, results or []):
                if args.json:
                    everything.append({"image": path, **r.to_dict()})
                    continue
                print(f"{path} ({r.width}x{r.height}): {len(r.detections)} detection(s)")
                for d in r.detections:
                    x1, y1, x2, y2 = d.box
                    print(f"  {d.class_name:<14} {d.score:.3f}  x1 {x1:6.1f} y1 {y1:6.1f} x2 {x2:6.1f} y2 {y2:6.1f}")
                t = r.timings
                print(f"  server: pre-process {t.preprocess_ms:.1f} ms, queue {t.queue_ms:.1f} ms, "
                      f"inference {t.inference_ms:.1f} ms, post-process {t.postprocess_ms:.1f} ms")
    if args.json:
        print(json.dumps(everything, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
