#!/usr/bin/env python3
"""Sums every JUnit-style XML under a results directory (cmocka, pytest, the format
check) and prints one closing line "N passed, N failed[, N skipped]". A unit test
executable that meson saw fail without writing failures to its XML (a crash, a sanitizer
abort) counts as one more failure. Exits 1 when anything failed."""
import json
import os
import sys
import xml.etree.ElementTree as ET


def suites(root):
    if root.tag == "testsuite":
        yield root
    for s in root.iter("testsuite"):
        if s is not root:
            yield s


def count_xml(path):
    passed = failed = skipped = 0
    names = []
    try:
        tree = ET.parse(path)
    except ET.ParseError as e:
        print(f"unreadable result file {path}: {e}")
        return 0, 1, 0, names
    for suite in suites(tree.getroot()):
        cases = suite.findall("testcase")
        for case in cases:
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                names.append(f"{suite.get('name')}::{case.get('name')}")
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped, names


def meson_crashes(testlog, xml_failures_by_suite):
    """Unit executables that failed in meson's log but reported no failing case."""
    extra = []
    try:
        with open(testlog) as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL"):
                    if xml_failures_by_suite.get(rec["name"], 0) == 0:
                        extra.append(rec["name"])
    except FileNotFoundError:
        pass
    return extra


def main():
    top = sys.argv[1]
    passed = failed = skipped = 0
    failures = []
    for dirpath, _, files in os.walk(top):
        by_suite = {}
        for name in sorted(files):
            if not name.endswith(".xml"):
                continue
            p, f, s, names = count_xml(os.path.join(dirpath, name))
            passed, failed, skipped = passed + p, failed + f, skipped + s
            failures += [f"{os.path.relpath(dirpath, top)}: {n}" for n in names]
            by_suite[name[:-4]] = by_suite.get(name[:-4], 0) + f
        if "testlog.json" in files:
            for name in meson_crashes(os.path.join(dirpath, "testlog.json"), by_suite):
                failed += 1
                failures.append(f"{os.path.relpath(dirpath, top)}: {name} (crashed or failed without a report)")
    for f in failures:
        print(f"FAILED {f}")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
