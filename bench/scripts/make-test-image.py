#!/usr/bin/env python3
"""Writes the benchmark test image: a raw file of SIZE bytes (default 4 GiB) made of 1 MiB regions
cycling through four kinds: never written (a hole), explicit zeros, random bytes, repetitive text.

Usage: make-test-image.py PATH [SIZE_IN_MIB]
The same seed always gives the same file, so vstore and its peers read identical data.
"""
import os
import random
import sys

MIB = 1 << 20


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    regions = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    rng = random.Random(20261121)
    text = b"".join(
        b"vstore benchmark line %08d: the quick brown fox jumps over the lazy dog\n" % i for i in range(20000)
    )
    zeros = bytes(MIB)
    with open(path, "wb") as f:
        f.truncate(regions * MIB)
        for i in range(regions):
            kind = i % 4
            if kind == 0:
                continue  # never written: stays a hole
            f.seek(i * MIB)
            if kind == 1:
                f.write(zeros)
            elif kind == 2:
                f.write(rng.randbytes(MIB))
            else:
                start = (i * 4099) % (len(text) - MIB)
                f.write(text[start:start + MIB])


if __name__ == "__main__":
    main()
