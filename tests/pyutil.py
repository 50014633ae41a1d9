"""Shared by the Python tests: a fresh scratch folder, and failures collected so that the test
fails through its exit status (finish)."""
import os
import shutil
import sys

failures = []


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def fail(msg):
    print("FAIL " + msg)
    failures.append(msg)


def finish(ok_message):
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print(ok_message)
