"""Start moto, deploy the resources, train the local model if needed, seed data, and serve the
API, the queue consumers and the schedules, all on 127.0.0.1.

Three processes run: moto's server, this one with the API, and one with the queue consumers and
scheduled jobs (infra/local/workers.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local.lambda_runtime import REGION

# Not under "servicedesk", whose Powertools handler prints JSON: these lines are for people.
logger = logging.getLogger("local_stack")

HOST = "127.0.0.1"
API_KEY_FILE_NAME = "partner-api-keys.json"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Importing the app and loading its models takes a few seconds; a cold disk can take longer.
WORKERS_START_TIMEOUT_SECONDS = 120


class PortInUseError(RuntimeError):
    """A port the local stack needs is taken."""


@dataclass
class LocalStackConfig:
    api_port: int = 8000
    moto_port: int = 5000
    schedule_seconds: float = 60.0
    seed: bool = True
    artifacts_dir: Path = PROJECT_ROOT / ".artifacts" / "models"
    # Where the signing secret of development tokens is written at every start.
    secret_file: Path = PROJECT_ROOT / ".artifacts" / "dev-token-secret"

    @property
    def api_key_file(self) -> Path:
        """Where the partner API keys are written at every start, beside the secret."""
        return self.secret_file.with_name(API_KEY_FILE_NAME)


@dataclass
class LocalStack:
    config: LocalStackConfig = field(default_factory=LocalStackConfig)
    outputs: dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _moto: Any = None
    _http: Any = None
    _workers: Any = None
    _api_keys: frozenset[str] = frozenset()

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.config.api_port}"

    @property
    def moto_url(self) -> str:
        return f"http://{HOST}:{self.config.moto_port}"

    def start(self) -> None:
        """Start every component; each logs one line when it is up."""
        self._check_ports_free()
        self._start_moto()
        self._deploy()
        self._prepare_models()
        app = self._load_app()
        if self.config.seed:
            self._seed()
        self._start_api(app)
        self._start_workers()
        self._start_partner_simulator()
        logger.info("local stack ready: API %s, AWS endpoint %s", self.api_url, self.moto_url)

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._http is not None:
            self._http.shutdown()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._workers is not None:
            # SIGTERM makes the workers stop their pollers, and a group SIGTERM may have sent it already.
            if self._workers.is_alive():
                self._workers.terminate()
            self._workers.join(timeout=15)
            if self._workers.is_alive():
                self._workers.kill()
        if self._moto is not None and self._moto.poll() is None:
            self._moto.terminate()
            try:
                self._moto.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._moto.kill()
        logger.info("local stack stopped")

    def wait(self) -> None:
        while not self._stop.wait(0.5):
            if self._workers is not None and not self._workers.is_alive() and not self._stop.is_set():
                logger.error(
                    "the consumers and schedules process exited with code %s; stopping the stack",
                    self._workers.exitcode,
                )
                return

    # Components.

    def _check_ports_free(self) -> None:
        """Raise PortInUseError before anything starts, so no request reaches another server."""
        for port, option in ((self.config.moto_port, "--moto-port"), (self.config.api_port, "--api-port")):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                # The servers set SO_REUSEADDR too, so connections of a stopped stack that are
                # still closing (TIME_WAIT) do not count as a port in use.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((HOST, port))
                except OSError as error:
                    raise PortInUseError(
                        f"port {port} on {HOST} is already in use ({error.strerror}); stop what uses it or pass "
                        f"another port with {option}"
                    ) from error

    def _start_moto(self) -> None:
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ENDPOINT_URL": self.moto_url,
                # moto runs Step Functions tasks by calling itself, so it must know its own port.
                "MOTO_PORT": str(self.config.moto_port),
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        self._moto = subprocess.Popen(
            [
                sys.executable, "-m", "infra.local.moto_server",
                "--host", HOST, "--port", str(self.config.moto_port), "--exit-with-parent",
            ],
            cwd=PROJECT_ROOT,
            env=dict(os.environ),
            # Ctrl-C in the terminal reaches the whole process group. moto exits on it at once, so
            # it gets a group of its own and stop() ends it after the processes that call it.
            start_new_session=True,
        )
        self._wait_for_moto()
        request = urllib.request.Request(
            f"{self.moto_url}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):
            pass
        logger.info("moto server listening on %s (Step Functions execution enabled)", self.moto_url)

    def _wait_for_moto(self, timeout_seconds: float = 60) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self._moto.poll() is not None:
                raise RuntimeError(
                    f"moto server exited with code {self._moto.returncode}; is port {self.config.moto_port} in use?"
                )
            try:
                with urllib.request.urlopen(f"{self.moto_url}/moto-api/", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"moto server did not respond on {self.moto_url} within {timeout_seconds:.0f} s")

    def _deploy(self) -> None:
        import boto3

        from infra.local.api_keys import create_api_key_file
        from infra.local.dev_tokens import create_secret_file
        from infra.provision import deploy_resources, environment_for

        self.outputs = deploy_resources(boto3.client("cloudformation"))
        os.environ.update(environment_for(self.outputs))
        secret = create_secret_file(self.config.secret_file)
        self._api_keys = frozenset(create_api_key_file(self.config.api_key_file).values())
        os.environ.update(
            {
                "MODEL_BACKEND": "local",
                "CALLER_SOURCE": "dev_tokens",
                "DEV_TOKEN_SECRET": secret,
                "MODEL_ARTIFACTS_DIR": str(self.config.artifacts_dir),
            }
        )
        logger.info("resources deployed from infra/resources.yaml: %s", ", ".join(sorted(self.outputs.values())))
        logger.info(
            "API callers need a development token: servicedesk token --tenant demo --user supervisor-1 "
            "--role supervisor --secret-file %s",
            self.config.secret_file,
        )
        logger.info("partner API keys for the x-api-key header of the /partner routes: %s", self.config.api_key_file)

    def _prepare_models(self) -> None:
        from ml.sentiment.train import ensure_model

        model_dir = ensure_model(self.config.artifacts_dir / "sentiment")
        logger.info("sentiment model ready in %s", model_dir)

        from ml.decisions.train import ensure_model as ensure_decisions_model

        logger.info("approval decision model ready in %s", ensure_decisions_model(self.config.artifacts_dir / "decisions"))

        triage_dir = self._ensure_triage_model()
        os.environ["TRIAGE_ENABLED"] = "true" if triage_dir else "false"
        if triage_dir:
            logger.info("triage model ready in %s", triage_dir)
        else:
            logger.info("triage model off: no artifact and no Endava ticket data to train it; tickets start in the default queue")

    def _ensure_triage_model(self) -> Path | None:
        """Return the triage artifact folder, training it from the Endava tickets when they exist."""
        from ml.common.artifacts import METADATA_FILE
        from ml.common.datasets import dataset_path

        target = self.config.artifacts_dir / "triage"
        if (target / METADATA_FILE).is_file():
            return target
        data = dataset_path("endava_support_tickets", "all_tickets_part_train.csv")
        if not data.is_file():
            return None
        from ml.triage.train import main as train_triage

        logger.info("training the triage model from %s (about a minute)", data)
        with contextlib.redirect_stdout(io.StringIO()):
            train_triage(["--train", str(data), "--format", "endava", "--model-dir", str(target)])
        return target

    def _load_app(self) -> Any:
        from app import app
        from functions import wiring

        wiring.reset()
        return app

    def _seed(self) -> None:
        import boto3

        from infra.local.seed import seed

        counts = seed(boto3.client("sqs"), self.outputs["IntakeQueueUrl"], triage_dir=self.config.artifacts_dir / "triage")
        logger.info("sample data seeded: %s", ", ".join(f"{count} {name}" for name, count in counts.items()))

        from infra.local.workflow_seed import seed_workflows

        counts = seed_workflows()
        logger.info("onboarding data seeded: %s", ", ".join(f"{count} {name}" for name, count in counts.items()))

    def _start_api(self, app: Any) -> None:
        from chalice.config import Config
        from chalice.local import create_local_server

        from infra.local import gateway

        gateway.install(api_keys=self._api_keys)
        config = Config.create(chalice_app=app, app_name="servicedesk", lambda_timeout=29, lambda_memory_size=512)
        self._http = create_local_server(app, config, HOST, self.config.api_port)
        thread = threading.Thread(target=self._http.serve_forever, name="api", daemon=True)
        thread.start()
        self._threads.append(thread)
        logger.info("API serving on %s", self.api_url)

    def _start_workers(self) -> None:
        """Start the queue consumers and schedules in their own process and wait until they poll."""
        import multiprocessing

        from infra.local import workers

        # A fresh interpreter (spawn), which inherits the environment set by _deploy.
        context = multiprocessing.get_context("spawn")
        ready = context.Event()
        self._workers = context.Process(
            target=workers.run,
            args=(self.config.schedule_seconds, ready),
            name="servicedesk-workers",
        )
        self._workers.start()
        if not ready.wait(WORKERS_START_TIMEOUT_SECONDS):
            raise RuntimeError(
                f"the consumers and schedules process did not start within {WORKERS_START_TIMEOUT_SECONDS} s; "
                "its log lines above say why"
            )

    def _start_partner_simulator(self) -> None:
        import boto3

        from infra.local.partner_simulator import PartnerSimulator

        simulator = PartnerSimulator(boto3.client("events"), boto3.client("sqs"), self.outputs["EventBusName"])
        simulator.install()
        thread = threading.Thread(target=simulator.run, args=(self._stop,), name="partner-simulator", daemon=True)
        thread.start()
        self._threads.append(thread)
        logger.info("ERP and learning system simulated: purchases are delivered and enrolments confirmed")
