"""Model endpoints: SageMaker runtime when deployed, an in-process endpoint when local.

Both speak SageMaker's contract: a JSON request body in, a JSON response body out.
"""

from __future__ import annotations

import importlib
import json
import threading
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.domain.errors import DependencyError
from functions.observability import timed

CONTENT_TYPE = "application/json"


class SageMakerEndpoint:
    """ModelEndpoint that calls `InvokeEndpoint` on a SageMaker real-time or serverless endpoint."""

    def __init__(self, client: Any, endpoint_name: str, name: str) -> None:
        self._client = client
        self.endpoint_name = endpoint_name
        self.name = name

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            with timed("ModelLatency"):
                response = self._client.invoke_endpoint(
                    EndpointName=self.endpoint_name,
                    ContentType=CONTENT_TYPE,
                    Accept=CONTENT_TYPE,
                    Body=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                )
                body = response["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise DependencyError(f"SageMaker endpoint {self.endpoint_name} failed: {error}") from error
        try:
            decoded = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise DependencyError(f"SageMaker endpoint {self.endpoint_name} returned non-JSON output") from error
        if not isinstance(decoded, dict):
            raise DependencyError(f"SageMaker endpoint {self.endpoint_name} returned JSON that is not an object")
        return decoded


class InProcessEndpoint:
    """ModelEndpoint that runs a model's SageMaker `inference.py` in this process.

    It calls the same four functions that the SageMaker scikit-learn container calls, on the
    same artifact folder, so local results match a deployed endpoint. Only the local stack and
    tests use it: it imports the model's libraries (scikit-learn) on first use.
    """

    def __init__(self, name: str, model_dir: Path) -> None:
        self.name = name
        self._model_dir = model_dir
        self._lock = threading.Lock()
        self._module: Any = None
        self._model: Any = None

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        module, model = self._load()
        try:
            with timed("ModelLatency"):
                data = module.input_fn(json.dumps(payload, ensure_ascii=False), CONTENT_TYPE)
                prediction = module.predict_fn(data, model)
                body = module.output_fn(prediction, CONTENT_TYPE)
        except ValueError as error:
            raise DependencyError(f"model {self.name} rejected the request: {error}") from error
        if isinstance(body, tuple):
            body = body[0]
        return json.loads(body)

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._model is None:
                if not self._model_dir.is_dir():
                    raise DependencyError(
                        f"model {self.name} has no artifact in {self._model_dir}: run "
                        f"`servicedesk train {self.name}` first"
                    )
                self._module = importlib.import_module(f"ml.{self.name}.inference")
                self._model = self._module.model_fn(str(self._model_dir))
            return self._module, self._model
