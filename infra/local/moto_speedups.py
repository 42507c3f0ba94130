"""A cheaper rollback for moto's DynamoDB transactions, for long local runs.

moto 5.2 backs up every table a transaction touches with `copy.deepcopy`, once per item of
the transaction, so each `TransactWriteItems` costs time in proportion to the table's size. A
replay of a few thousand tickets slows to seconds per request. This module replaces the table
copy with a copy of only the items the transaction names, and restores those items when the
transaction is cancelled. Conditions and cancellation reasons still come from moto's own code.

moto 5.2's SQS ReceiveMessage also computes every attribute of the queue, each a pass over all
its messages, once per message it returns, only to read the retention period. With a few
thousand messages waiting, one receive takes seconds and the queue never catches up. The patch
reads the retention period from the queue directly; which messages are returned is unchanged.
"""

from __future__ import annotations

import copy
import threading
from types import SimpleNamespace
from typing import Any

_installed = False
_lock = threading.Lock()
_transaction_lock = threading.Lock()


def install() -> None:
    """Patch moto's DynamoDB backend in this process; calling it again does nothing."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.dynamodb import models
        from moto.dynamodb.models.table import Table

        real_deepcopy = copy.deepcopy

        def deepcopy_except_tables(value: Any, memo: Any = None) -> Any:
            # The transaction's table backup: keep the live table, the items are saved below.
            if isinstance(value, Table):
                return value
            return real_deepcopy(value, memo)

        # moto's module calls `copy.deepcopy` through its own `copy` name, so the shim replaces
        # deep copies in that module only.
        models.copy = SimpleNamespace(deepcopy=deepcopy_except_tables, copy=copy.copy)

        original = models.DynamoDBBackend.transact_write_items

        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            # moto's server handles requests on threads and its transactions are not atomic
            # across them, so transactions run one at a time here, as DynamoDB isolates them.
            with _transaction_lock:
                saved = _save_items(self, transact_items)
                try:
                    original(self, transact_items)
                except Exception:
                    _restore_items(self, saved)
                    raise

        models.DynamoDBBackend.transact_write_items = transact_write_items
        _install_sqs_retention_check()
        _installed = True


def _install_sqs_retention_check() -> None:
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_seconds = int(self.get_queue(queue_name).message_retention_period)
        return retention_seconds + message.sent_timestamp / 1000 > unix_time()

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period


def _save_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], Any]]:
    saved = []
    for entry in transact_items:
        _, operation = next(iter(entry.items()))
        table_name = operation.get("TableName")
        if table_name not in backend.tables:
            continue
        table = backend.tables[table_name]
        if "Item" in operation:
            key = {table.hash_key_attr: operation["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = operation["Item"][table.range_key_attr]
        else:
            key = operation.get("Key")
        if key is None:
            continue
        try:
            current = backend.get_item(table_name, key)
        except Exception:  # noqa: BLE001 - moto reports a malformed key itself, inside the transaction
            continue
        saved.append((table_name, key, current.to_json()["Attributes"] if current is not None else None))
    return saved


def _restore_items(backend: Any, saved: list[tuple[str, dict[str, Any], Any]]) -> None:
    for table_name, key, attributes in reversed(saved):
        if attributes is None:
            if backend.get_item(table_name, key) is not None:
                backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, attributes)
