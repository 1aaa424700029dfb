"""The CLI run in-process with its stderr held to the error contract: without -v, no traceback
and no Prefect log record ever reaches the user, whatever failed. Every error test goes through
`run_cli`, so each one also scans its stderr."""

import logging
import re
import sys

from music2dance_cli.main import main

# Records of Prefect's loggers, as `run_cli` formats them.
PREFECT_LOG = re.compile(r"^prefect[.\w]* \| ", re.MULTILINE)


def run_cli(capfd, argv: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `music2dance ARGV`, captured at the file descriptors.

    As in a fresh CLI process, log records go to this call's stderr through one root handler
    (in-process, Prefect's own handler may hold an earlier test's closed stream), named by logger
    so Prefect's records can be told from ours."""
    root = logging.getLogger()
    saved = root.handlers[:]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s | %(message)s"))
    root.handlers = [handler]
    capfd.readouterr()
    try:
        code = main([str(a) for a in argv])
    finally:
        root.handlers = saved
    out, err = capfd.readouterr()
    if not {"-v", "--verbose"} & set(argv):
        assert "Traceback" not in err, err
        assert not PREFECT_LOG.search(err), err
    return code, out, err


def error_line(err: str) -> str:
    """The one `error:` line, which must end stderr."""
    lines = [line for line in err.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and err.strip().endswith(lines[0]), err
    return lines[0]
