"""The CLI run in-process with its stderr held to the error contract: without -v, no traceback
and no Prefect log line ever reaches the user, whatever failed. Every error test goes through
`run_cli`, so each one also scans its stderr."""

import re

from music2dance_cli.main import main

# Prefect's own records ("... | ERROR   | Task run 'x' - ...", "| prefect.server - ..."); ours
# may share its format in-process, where Prefect configured the root logger first.
PREFECT_LOG = re.compile(r"\| (Flow run|Task run) '|\| prefect[.\w]* - ")


def run_cli(capfd, argv: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `music2dance ARGV`, captured at the file descriptors (Prefect
    and native libraries write there too)."""
    capfd.readouterr()
    code = main([str(a) for a in argv])
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
