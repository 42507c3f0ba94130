"""Idempotent execution of writes that a client or a queue may repeat, on Powertools'
idempotency utility with its DynamoDB persistence layer."""

from __future__ import annotations

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
        # Powertools' persistence layer keeps the key prefix of its last call, so one shared
        # instance would let concurrent calls with other scopes (threads of the local server)
        # delete or complete the wrong record. Each call gets its own, which costs no I/O.
        persistence = DynamoDBPersistenceLayer(table_name=self._table_name, boto3_client=self._client)
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
