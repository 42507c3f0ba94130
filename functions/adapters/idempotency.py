"""Idempotent execution of writes that a client or a queue may repeat, on Powertools'
idempotency utility with its DynamoDB persistence layer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from functions.domain.errors import DependencyError, IdempotencyConflictError, RequestInProgressError


class IdempotentRunner:
    """Runs a function at most once per key and replays its stored result on repeats.

    The key is hashed from `key`; `request` is hashed separately, so the same key sent with a
    different request raises IdempotencyConflictError instead of replaying.
    """

    def __init__(self, client: Any, table_name: str, expiry_seconds: int) -> None:
        self._client = client
        self._table_name = table_name
        self._expiry_seconds = expiry_seconds
        self._layers: dict[str, DynamoDBPersistenceLayer] = {}
        self._layers_lock = threading.Lock()

    def run(
        self,
        scope: str,
        key: list[str],
        request: Any,
        function: Callable[[], dict[str, Any]],
        lambda_context: Any = None,
    ) -> dict[str, Any]:
        """Call `function` unless `scope` and `key` were seen before; return its (stored) result.

        With a Lambda context, an in-progress record expires when the invocation would time out.
        """
        persistence = self._persistence(scope)
        config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="request",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self._expiry_seconds,
        )
        if lambda_context is not None:
            config.register_lambda_context(lambda_context)

        @idempotent_function(
            data_keyword_argument="data",
            persistence_store=persistence,
            config=config,
            key_prefix=scope,
        )
        def once(data: dict[str, Any]) -> dict[str, Any]:
            return function()

        try:
            return once(data={"key": key, "request": request})
        except IdempotencyValidationError as error:
            raise IdempotencyConflictError("idempotency key reused with a different request", scope=scope) from error
        except IdempotencyAlreadyInProgressError as error:
            raise RequestInProgressError("request with this idempotency key in progress", scope=scope) from error
        except IdempotencyPersistenceLayerError as error:
            raise DependencyError(f"idempotency store failed: {error}") from error

    def _persistence(self, scope: str) -> DynamoDBPersistenceLayer:
        """Return the persistence layer of one scope, made on its first call.

        Powertools' layer keeps the key prefix of its last call, so calls of other scopes on
        other threads must not share it. Calls of one scope set the same prefix. Each new layer
        also adds a User-Agent hook to the shared client that runs on every later AWS call, so a
        layer per call made each call slower than the one before.
        """
        with self._layers_lock:
            layer = self._layers.get(scope)
            if layer is None:
                layer = DynamoDBPersistenceLayer(table_name=self._table_name, boto3_client=self._client)
                self._layers[scope] = layer
            return layer
