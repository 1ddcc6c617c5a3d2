"""Parse an uploaded file in a child process with its own CPU, memory and wall-clock limits.

A hostile file (a PDF of compressed streams, a DOCX of millions of paragraphs or one that inflates to a
gigabyte) used to run the web worker into its kill or out of memory. Here the readers run in a fresh
`python -m recruiting.parsing.sandbox` process under RLIMIT_AS and RLIMIT_CPU with a wall-clock timeout; the
parent only reads the child's JSON answer. A child over a limit is killed and the upload refused with the
limit named (`LimitExceeded`, a 413); the web process never holds more than the file itself.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass

from recruiting.parsing.formats import ParseError, UnsupportedFileType
from recruiting.parsing.limits import LimitExceeded, ParseLimits
from recruiting.parsing.parsed import ParsedResume

_ERRORS = {"parse": ParseError, "unsupported": UnsupportedFileType, "limit": LimitExceeded}


@dataclass(frozen=True)
class SandboxLimits:
    memory_bytes: int = 768 * 1024 * 1024
    cpu_seconds: int = 10
    wall_seconds: float = 20.0
    parse: ParseLimits = ParseLimits()


def parse_resume_isolated(
    data: bytes, *, filename: str = "", content_type: str = "", limits: SandboxLimits = SandboxLimits()
) -> ParsedResume:
    """`parse_resume` in a limited child process. Raises ParseError, UnsupportedFileType or LimitExceeded."""
    request = {"filename": filename, "content_type": content_type, "limits": asdict(limits.parse)}
    env = {**os.environ, "TANDEM_SANDBOX_REQUEST": json.dumps(request), "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "recruiting.parsing.sandbox"],
            input=data,
            capture_output=True,
            timeout=limits.wall_seconds,
            env=env,
            preexec_fn=lambda: _limit_self(limits),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LimitExceeded(
            f"Reading the file took over {limits.wall_seconds:g} s; it is too complex."
        ) from exc
    if done.returncode != 0 or not done.stdout:
        raise _killed(done.returncode, done.stderr, limits)
    answer = json.loads(done.stdout)
    if "error" in answer:
        raise _ERRORS.get(answer["kind"], ParseError)(answer["error"])
    return ParsedResume(**answer["parsed"])


def _limit_self(limits: SandboxLimits) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _killed(returncode: int, stderr: bytes, limits: SandboxLimits) -> ParseError:
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL) or b"CPU time" in stderr:
        return LimitExceeded(f"Reading the file took over {limits.cpu_seconds} s of CPU; it is too complex.")
    if b"MemoryError" in stderr or returncode == 3:
        mb = limits.memory_bytes // (1024 * 1024)
        return LimitExceeded(f"Reading the file needed over {mb} MB; it is too complex.")
    return ParseError("The file cannot be read.")


def _child() -> int:
    from recruiting.parsing.resume import parse_resume

    request = json.loads(os.environ["TANDEM_SANDBOX_REQUEST"])
    data = sys.stdin.buffer.read()
    try:
        parsed = parse_resume(
            data,
            filename=request["filename"],
            content_type=request["content_type"],
            limits=ParseLimits(**request["limits"]),
        )
    except MemoryError:
        return 3
    except ParseError as exc:
        kind = (
            "limit"
            if isinstance(exc, LimitExceeded)
            else "unsupported"
            if isinstance(exc, UnsupportedFileType)
            else "parse"
        )
        sys.stdout.write(json.dumps({"error": str(exc), "kind": kind}))
        return 0
    sys.stdout.write(json.dumps({"parsed": asdict(parsed)}))
    return 0


if __name__ == "__main__":
    sys.exit(_child())
