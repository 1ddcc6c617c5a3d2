"""`manage.py check --deploy` is clean with production environment variables (README: Deployment)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "x7#Vq!9pLm2@Rt5$Wz8^Kc3&Hn6*Bf1(Jd4)Gs0_Ya-Ue+Io=Px~Ql<Mr>Nt?",
        "ALLOWED_HOSTS": "tandem.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
