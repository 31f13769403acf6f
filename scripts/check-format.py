#!/usr/bin/env python3
"""Checks that every C source and header under src/ and tests/ is formatted as
.clang-format says. With --fix, formats them in place. With --junit FILE, writes the
result as one test case per file that is off, or one passing case."""
import argparse
import subprocess
import sys
from pathlib import Path

top = Path(__file__).resolve().parent.parent


def sources():
    for d in ("src", "tests", "bench"):
        for p in sorted((top / d).rglob("*")):
            if p.suffix in (".c", ".h") and p.is_file():
                yield p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fix", action="store_true")
    ap.add_argument("--junit")
    args = ap.parse_args()
    off = []
    for p in sources():
        if args.fix:
            subprocess.run(["clang-format", "-i", str(p)], check=True)
            continue
        out = subprocess.run(["clang-format", str(p)], capture_output=True, check=True).stdout
        if out != p.read_bytes():
            off.append(str(p.relative_to(top)))
    for f in off:
        print(f"not formatted: {f} (run scripts/check-format.py --fix)")
    if args.junit:
        with open(args.junit, "w") as f:
            f.write('<testsuite name="format">')
            if off:
                for o in off:
                    f.write(f'<testcase name="{o}"><failure message="not formatted"/></testcase>')
            else:
                f.write('<testcase name="clang-format"/>')
            f.write("</testsuite>\n")
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
