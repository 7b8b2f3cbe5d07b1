"""The mutation fuzzer at scale: many mutants per file kind, several seeds; prints counts, timings and problems.

    .venv/bin/python bench/fuzz.py [--mutants 1000] [--seeds 3]

Exit 1 if any mutant crashed (exit 3 or an escaped exception), hung, printed a traceback, took over 5 s,
gave a refusal that is not one error line, or wrote an output or run record when refused.
`tests/test_fuzz.py` runs the same fuzzer with 150 mutants per kind and one seed in `make test`.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

os.environ.setdefault("MAMMON_NOW", "2026-01-01T00:00:00Z")

from mammon.testing.fuzz import KINDS, Fuzzer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=1000, help="mutants per kind and seed")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    problems = 0
    total = 0
    started = time.monotonic()
    print(f"| kind | mutants | exit 0 | exit 1 | exit 2 | problems | slowest (s) | time (s) |\n|---|--:|--:|--:|--:|--:|--:|--:|")
    by_kind: dict[str, list] = collections.defaultdict(list)
    for seed in range(args.seeds):
        fuzzer = Fuzzer(seed=1000 + seed)
        try:
            for kind in KINDS:
                t = time.monotonic()
                finding = fuzzer.run(kind, args.mutants)
                by_kind[kind].append((finding, time.monotonic() - t))
        finally:
            fuzzer.close()
    for kind, runs in by_kind.items():
        outcomes = [o for f, _ in runs for o in f.outcomes]
        bad = [o for o in outcomes if o.problem]
        codes = collections.Counter(o.code for o in outcomes)
        print(f"| {kind} | {len(outcomes)} | {codes[0]} | {codes[1]} | {codes[2]} | {len(bad)} | "
              f"{max(o.seconds for o in outcomes):.2f} | {sum(t for _, t in runs):.1f} |")
        problems += len(bad)
        total += len(outcomes)
        for o in bad[:10]:
            print(f"    PROBLEM {o.kind} {o.mutation}: {o.problem}", file=sys.stderr)
    print(f"\n{total} mutants, {problems} problems, {time.monotonic() - started:.0f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
