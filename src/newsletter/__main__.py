"""``python -m newsletter``: the same program where ``newsletter`` is not on PATH
(often on Windows, where pip puts it in a Scripts folder PATH does not name)."""

from newsletter.cli import main

# The guard keeps a process that re-imports the main module (multiprocessing's spawn,
# the default on Windows and macOS) from running the command a second time.
if __name__ == "__main__":
    main()
