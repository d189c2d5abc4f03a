"""What a started process holds (``bench/pipeline.py --million``: a delivery worker's peak
resident size, target 150 MB).

Whatever a route or command module imports at its top is resident in every process that
imports it. ``scipy.stats``, ``scipy.optimize`` and ``scipy.special`` alone were about 60 MB of
each process: the value models reach them through scipy's lazily loaded submodules, and the
uplift's Wilson interval needs none of them. The delivery worker's entry point (``worker.py``)
builds the application without its web face, and command modules are imported when their
command runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from config import generate_secrets

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("scipy.stats", "scipy.optimize", "scipy.special")

_PROBE = """
import json, sys
from app import create_app
from app.delivery.worker import DeliveryWorker
create_app("testing", DATABASE_URL=sys.argv[1], KEYSTORE_URL=sys.argv[2])
print(json.dumps(sorted(name for name in sys.modules if name.startswith("scipy."))))
"""


def test_a_started_application_has_not_loaded_the_fitting_libraries(tmp_path):
    env = {**os.environ, "ASSENSO_INSTANCE_PATH": str(tmp_path / "instance"), **generate_secrets()}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE,
            f"sqlite:///{tmp_path / 'main.sqlite3'}",
            f"sqlite:///{tmp_path / 'keys.sqlite3'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_worker_entry_point_builds_the_application_without_its_web_face(tmp_path):
    env = {
        **os.environ,
        "ASSENSO_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'main.sqlite3'}",
        **generate_secrets(),
    }
    probe = (
        "import json, sys; import worker; "
        "print(json.dumps([len(worker.app.blueprints), 'app.web.api' in sys.modules, "
        "'app.cli.value' in sys.modules, 'worker' in worker.app.cli.commands]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [0, False, False, True]
