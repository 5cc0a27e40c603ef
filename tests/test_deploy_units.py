"""deploy/*.service: the app, the job worker and the scheduler as systemd units. Each runs a
command this checkout has, as a user of its own, with the settings file, restarted on
failure; `systemd-analyze verify` accepts each (where it exists) once its paths point here."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = {
    "app.service": ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"],
    "worker.service": ["flask", "jobs", "worker"],
    "scheduler.service": ["flask", "jobs", "scheduler"],
}
INSTALLED = "/srv/civic"


def read(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "deploy" / name, encoding="utf-8")
    return unit


@pytest.mark.parametrize("name", sorted(UNITS))
def test_each_unit_runs_its_command_as_the_app_user_with_the_settings_file(name):
    unit = read(name)
    service = unit["Service"]
    assert service["User"] == "civic" and service["Group"] == "civic"
    assert service["EnvironmentFile"] == "/etc/civic/env"
    assert service["Restart"] == "on-failure"
    assert service["WorkingDirectory"] == INSTALLED
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    command = shlex.split(service["ExecStart"])
    assert command[0] == f"{INSTALLED}/.venv/bin/{UNITS[name][0]}"
    assert command[1:] == UNITS[name][1:]
    # What it names exists in this checkout: the program in the virtualenv, gunicorn's
    # settings and the WSGI module, or the flask subcommand.
    assert (ROOT / ".venv" / "bin" / UNITS[name][0]).exists()
    if name == "app.service":
        assert (ROOT / "gunicorn.conf.py").exists() and (ROOT / "wsgi.py").exists()
    else:
        assert service["Environment"] == "FLASK_APP=wsgi.py"


@pytest.mark.parametrize("name", ["worker.service", "scheduler.service"])
def test_the_flask_commands_of_the_units_exist(app, name):
    args = [*UNITS[name][1:], "--help"]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("name", sorted(UNITS))
def test_systemd_analyze_verifies_each_unit(name, tmp_path):
    """The unit as installed here: its paths pointed at this checkout, as root (no `civic`
    user on a test machine), the settings file optional. verify fails on an unknown key, a
    missing ExecStart or a command that is not executable."""
    text = (ROOT / "deploy" / name).read_text(encoding="utf-8")
    text = text.replace(INSTALLED, str(ROOT)).replace("=civic\n", "=root\n")
    text = text.replace("EnvironmentFile=/etc/", "EnvironmentFile=-/etc/")
    target = tmp_path / f"civic-{name}"
    target.write_text(text, encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    problems = [line for line in done.stderr.splitlines() if str(target.name) in line]
    assert done.returncode == 0 and not problems, done.stderr
