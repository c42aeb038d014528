"""Errors a user's files cause are named as what they are, one line each."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from shortlist.errors import SourceError
from shortlist.sources import expand_source
from tests.conftest import ROOT


def test_a_symlink_loop_is_named_as_one(tmp_path):
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    with pytest.raises(SourceError, match="symbolic link loop"):
        expand_source(str(loop), tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(b"x" * 100)
    (folder / "b.mp4").symlink_to(folder / "b.mp4")
    skipped: list[str] = []
    found = expand_source(str(folder), tmp_path, skipped)
    assert [Path(v.path).name for v in found] == ["a.mp4"]
    assert len(skipped) == 1 and "symbolic link loop" in skipped[0] and "b.mp4" in skipped[0]


def test_a_missing_path_is_named_as_missing(tmp_path):
    with pytest.raises(SourceError, match="no such file or folder"):
        expand_source(str(tmp_path / "nope.mp4"), tmp_path)


def _without_root_override(code: str) -> subprocess.CompletedProcess:
    """Run Python `code` where file permissions apply: as root (CI), without the
    capabilities that let root read any file (setpriv, util-linux)."""
    cmd = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("needs setpriv to drop root's file-access override")
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_permission_denied_is_named_for_a_folder_and_a_subfolder():
    top = Path(tempfile.mkdtemp(prefix="shortlist-perm-"))
    try:
        os.chmod(top, 0o755)
        readable = top / "in"
        (readable / "locked").mkdir(parents=True)
        (readable / "a.mp4").write_bytes(b"x" * 100)
        (readable / "locked" / "b.mp4").write_bytes(b"x" * 100)
        os.chmod(readable, 0o755)
        os.chmod(readable / "a.mp4", 0o644)
        os.chmod(readable / "locked", 0o000)
        code = ("import sys; from shortlist.sources import expand_source; "
                "from shortlist.errors import SourceError\n"
                f"skipped = []; found = expand_source({str(readable)!r}, None, skipped)\n"
                "print(len(found)); print(skipped)\n"
                f"try:\n    expand_source({str(readable / 'locked')!r}, None)\n"
                "except SourceError as e:\n    print(e)\n")
        out = _without_root_override(code)
        assert out.returncode == 0, out.stderr
        count, skipped, locked = out.stdout.strip().splitlines()
        assert count == "1"
        assert "permission denied" in skipped and "locked" in skipped
        assert locked.startswith("permission denied")
    finally:
        os.chmod(top / "in" / "locked", 0o755)
        shutil.rmtree(top)


def test_names_with_newlines_are_escaped_in_line_output():
    from shortlist.report import RunSummary, VideoReport
    from shortlist.text import one_line

    assert one_line("a\nb\tc\\d é") == "a\\nb\\tc\\\\d é"
    summary = RunSummary((VideoReport("/in/evil\nFAILED /etc/passwd.mp4", "failed",
                                      error="bad\nline"),), 1.0)
    lines = summary.text().splitlines()
    assert len(lines) == 2 and "evil\\nFAILED" in lines[1]


def test_a_home_folder_of_no_such_user_is_named_as_such(tmp_path):
    from shortlist.reindex import TrackedSources
    from shortlist.settings import Settings

    nobody = "~no-such-user-here/clips"
    with pytest.raises(SourceError, match="'~no-such-user-here' names no home folder"):
        expand_source(nobody, tmp_path)
    with pytest.raises(SourceError, match=f"tracked location {nobody}: .* no home folder"):
        TrackedSources([nobody])
    with pytest.raises(ValueError, match="names no home folder"):
        Settings.load(env={"SHORTLIST_DATA_DIR": nobody})


@pytest.mark.slow  # starts Prefect's server (seconds)
def test_a_prefect_server_that_cannot_start_is_named_with_the_way_out():
    """Its port taken as it starts: one message that says what to do, not a traceback.
    In a process of its own, as the server must start before Prefect is imported."""
    script = (
        "import socket, sys\n"
        "import flows.ephemeral as ephemeral\n"
        "from shortlist.errors import ShortlistError\n"
        "held = socket.socket(); held.bind(('127.0.0.1', 0)); held.listen()\n"
        "ephemeral._free_port = lambda: held.getsockname()[1]\n"
        "server = ephemeral.start_tied_server()\n"
        "try:\n"
        "    server.wait_until_up()\n"
        "except ShortlistError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(1)\n")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Prefect's server stopped as it started" in proc.stdout
    assert "set PREFECT_API_URL" in proc.stdout
