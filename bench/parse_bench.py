"""Benchmark of the Dockerfile parser.

Measures, in one fresh process:
- the first parse, which imports lark and builds the grammar (once per process);
- parsing every real-world Dockerfile of ../shared/conformance/real-world (files/s, MB/s);
- a typical 60-line Dockerfile (bench/typical.Dockerfile) after warm-up: best and median of many runs.

Usage: python bench/parse_bench.py [--corpus DIR] [--runs N] [--json]
The target for the typical file is under 5 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dockpy.dockerfile import parse_dockerfile  # noqa: E402  (after the path is set)

TYPICAL = Path(__file__).resolve().parent / "typical.Dockerfile"
DEFAULT_CORPUS = REPO.parent / "shared" / "conformance" / "real-world"
TARGET_MS = 5.0


def time_first_parse() -> float:
    """Seconds for the first parse in this process: importing lark and building the grammar."""
    start = time.perf_counter()
    parse_dockerfile(b"FROM scratch\n")
    return time.perf_counter() - start


def corpus_files(corpus: Path) -> list[Path]:
    rows = (corpus / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [corpus / row.split("\t")[0] for row in rows if row]


def time_corpus(files: list[Path]) -> dict:
    """Parse every file once (contents read beforehand, so only parsing is timed)."""
    contents = [(str(path), path.read_bytes()) for path in files]
    start = time.perf_counter()
    for name, data in contents:
        parse_dockerfile(data, filename=name)
    seconds = time.perf_counter() - start
    total_bytes = sum(len(data) for _, data in contents)
    return {
        "files": len(contents),
        "bytes": total_bytes,
        "seconds": seconds,
        "files_per_second": len(contents) / seconds,
        "megabytes_per_second": total_bytes / seconds / 1e6,
    }


def time_typical(runs: int) -> dict:
    data = TYPICAL.read_bytes()
    for _ in range(20):  # warm-up: caches, branch predictors, lazily built lexer states
        dockerfile = parse_dockerfile(data)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        parse_dockerfile(data)
        samples.append((time.perf_counter() - start) * 1000)
    return {
        "lines": data.count(b"\n"),
        "instructions": len(dockerfile.instructions),
        "best_ms": min(samples),
        "median_ms": statistics.median(samples),
        "runs": runs,
    }


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="real-world corpus (MANIFEST.tsv)")
    parser.add_argument("--runs", type=int, default=500, help="timed parses of the typical Dockerfile")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()

    results = {"machine": machine(), "first_parse_seconds": time_first_parse()}
    if (args.corpus / "MANIFEST.tsv").is_file():
        results["corpus"] = time_corpus(corpus_files(args.corpus))
    results["typical"] = time_typical(args.runs)

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_report(results)
    return 0 if results["typical"]["median_ms"] < TARGET_MS else 1


def print_report(results: dict) -> None:
    print(f"machine: {results['machine']}")
    print(f"first parse (import lark, build grammar): {results['first_parse_seconds'] * 1000:.0f} ms")
    corpus = results.get("corpus")
    if corpus is None:
        print("real-world corpus: absent, skipped")
    else:
        print(
            f"real-world corpus: {corpus['files']} files, {corpus['bytes'] / 1e6:.2f} MB in {corpus['seconds']:.2f} s: "
            f"{corpus['files_per_second']:.0f} files/s, {corpus['megabytes_per_second']:.2f} MB/s"
        )
    typical = results["typical"]
    print(
        f"typical Dockerfile ({typical['lines']} lines, {typical['instructions']} instructions): "
        f"best {typical['best_ms']:.2f} ms, median {typical['median_ms']:.2f} ms over {typical['runs']} runs "
        f"(target < {TARGET_MS:.0f} ms)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
