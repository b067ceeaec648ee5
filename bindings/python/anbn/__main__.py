"""`python -m anbn ...` and the `anbn` console script: run the anbn program
that was built with this package."""
import os
import pathlib
import sys


def program() -> str:
    here = pathlib.Path(__file__).resolve().parent
    # pip install: anbn/bin/anbn; the build tree: build/bin; cmake --install: <prefix>/bin
    for p in (here / "bin" / "anbn", here.parent.parent / "bin" / "anbn", here.parents[3] / "bin" / "anbn"):
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    sys.exit("anbn: the anbn program is not installed beside this package")


def main() -> None:
    exe = program()
    os.execv(exe, [exe, *sys.argv[1:]])


if __name__ == "__main__":
    main()
