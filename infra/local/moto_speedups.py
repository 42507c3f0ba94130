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
EventBridge's delivery to an SQS target reads the same attributes once per event, so the patch
reads the queue's content-based deduplication setting directly as well.

moto 5.2's DynamoDB Query also sorts every item of the table before it picks the key's
partition. A query of the table's own key now reads only that partition. A query of an index
with one string partition key reads only the items under that key, from a map that each write
keeps current (`IndexMembers`); other index queries skip the sort, which moto does again on the
matching items.

Three costs are paid on every request rather than growing with the data:
- EventBridge compiles the JSONPath expressions of each target's input paths for every event,
  building a new parser each time. Compiled expressions are now kept, one per expression text.
- The server finds the service of a request by listing moto's package directory and matching
  hundreds of URL patterns. The service found is now kept per host name.
- DynamoDB responses pass every attribute value of every item through the generic botocore
  shape serializer. Values made only of strings, numbers, booleans, nulls, string or number
  sets, lists and maps are now copied as they are, because that serializer returns them
  unchanged. Binary values still go through it.
"""

from __future__ import annotations

import copy
import functools
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
        _install_sqs_send_check()
        _install_partition_query()
        _install_jsonpath_cache()
        _install_backend_lookup_cache()
        _install_attribute_value_copy()
        _installed = True


def _install_sqs_retention_check() -> None:
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_seconds = int(self.get_queue(queue_name).message_retention_period)
        return retention_seconds + message.sent_timestamp / 1000 > unix_time()

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period


def _install_sqs_send_check() -> None:
    from moto.sqs.models import Queue

    def attributes_for_send(queue: Any) -> dict[str, Any]:
        # SQSBackend.send_message reads only this key of Queue.attributes.
        return {"ContentBasedDeduplication": str(bool(getattr(queue, "content_based_deduplication", False))).lower()}

    from moto.sqs import models as sqs_models

    original_send = sqs_models.SQSBackend.send_message

    def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        # Keyed by thread: moto serves requests on threads, and only this send may see them.
        queue._send_attributes = (threading.get_ident(), attributes_for_send(queue))
        try:
            return original_send(self, queue_name, *args, **kwargs)
        finally:
            queue.__dict__.pop("_send_attributes", None)

    real_attributes = Queue.attributes

    def attributes(queue: Any) -> dict[str, Any]:
        cheap = queue.__dict__.get("_send_attributes")
        if cheap is not None and cheap[0] == threading.get_ident():
            return cheap[1]
        return real_attributes.fget(queue)

    Queue.attributes = property(attributes)
    sqs_models.SQSBackend.send_message = send_message


_query_partition = threading.local()


def _install_partition_query() -> None:
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # DynamoDBBackend.query passes index_name as the eighth positional argument, hash_key first.
        index_name = kwargs.get("index_name")
        if index_name is None and len(args) > 6:
            index_name = args[6]
        _query_partition.value = (self, hash_key, index_name, kwargs.get("hash_key_conditions"))
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _query_partition.value = None

    def all_items(self: Any) -> Any:
        hint = getattr(_query_partition, "value", None)
        if hint is None or hint[0] is not self:
            return original_all_items(self)
        _, hash_key, index_name, hash_conditions = hint
        if index_name is not None:
            candidates = _index_members(self).candidates(index_name, hash_conditions)
            return _unsorted_items(self) if candidates is None else candidates
        if hash_key is None:
            return original_all_items(self)
        partition = self.items.get(hash_key)
        if partition is None:
            return []
        return list(partition.values()) if self.range_key_attr else [partition]

    Table.query = query
    Table.all_items = all_items
    _install_index_tracking()


def _install_index_tracking() -> None:
    """Tell each table's index members which items every write touched."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    original_put = Table.put_item
    original_delete = Table.delete_item
    original_update = models.DynamoDBBackend.update_item

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original_put(self, *args, **kwargs)
        _index_members(self).touched(item.hash_key, item.range_key)
        return item

    def delete_item(self: Any, hash_value: Any, range_value: Any = None) -> Any:
        item = original_delete(self, hash_value, range_value)
        _index_members(self).touched(hash_value, range_value)
        return item

    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        # moto changes the stored item in place, index key attributes included.
        item = original_update(self, table_name, *args, **kwargs)
        _index_members(self.get_table(table_name)).touched(item.hash_key, item.range_key)
        return item

    Table.put_item = put_item
    Table.delete_item = delete_item
    models.DynamoDBBackend.update_item = update_item


class IndexMembers:
    """The items of one table under each string partition key of its secondary indexes.

    Built from every item on the first index query, then kept up to date from the keys of the
    items written since: each query first places those items again. A query gets only the items
    of its partition, and moto still checks each one, so the result is moto's own.
    """

    def __init__(self, table: Any) -> None:
        self._table = table
        self._lock = threading.Lock()
        self._built_for: tuple[tuple[str, str], ...] | None = None
        self._members: dict[str, dict[str, dict[tuple[Any, Any], None]]] = {}
        self._placed: dict[tuple[Any, Any], list[tuple[str, str]]] = {}
        self._touched: set[tuple[Any, Any]] = set()

    def touched(self, hash_value: Any, range_value: Any) -> None:
        with self._lock:
            self._touched.add((hash_value, range_value))

    def candidates(self, index_name: str, hash_conditions: Any) -> list[Any] | None:
        """Items that may match a query of one index, or None when only a full pass can tell."""
        if not hash_conditions or len(hash_conditions) != 1:
            return None
        attribute, value = hash_conditions[0]
        if getattr(value, "type", None) != "S":
            return None
        with self._lock:
            hash_attributes = self._refresh()
            if hash_attributes.get(index_name) != attribute:
                return None
            keys = list(self._members.get(index_name, {}).get(value.value, ()))
        return [item for item in (self._stored(key) for key in keys) if item is not None]

    def _refresh(self) -> dict[str, str]:
        hash_attributes = _single_hash_attributes(self._table)
        signature = tuple(sorted(hash_attributes.items()))
        if signature != self._built_for:
            self._members = {name: {} for name in hash_attributes}
            self._placed = {}
            self._touched = {(item.hash_key, item.range_key) for item in _unsorted_items(self._table)}
            self._built_for = signature
        for key in self._touched:
            for index_name, partition in self._placed.pop(key, ()):
                self._members[index_name][partition].pop(key, None)
            item = self._stored(key)
            if item is None:
                continue
            placed = []
            for index_name, attribute in hash_attributes.items():
                value = item.attrs.get(attribute)
                if value is not None and value.type == "S":
                    self._members[index_name].setdefault(value.value, {})[key] = None
                    placed.append((index_name, value.value))
            if placed:
                self._placed[key] = placed
        self._touched = set()
        return hash_attributes

    def _stored(self, key: tuple[Any, Any]) -> Any:
        hash_value, range_value = key
        partition = self._table.items.get(hash_value)
        if partition is None or not self._table.range_key_attr:
            return partition
        return partition.get(range_value)


def _single_hash_attributes(table: Any) -> dict[str, str]:
    """Map each secondary index with one partition key attribute to that attribute."""
    attributes = {}
    for index in table.all_indexes():
        hash_keys = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
        if len(hash_keys) == 1:
            attributes[index.name] = hash_keys[0]
    return attributes


_members_lock = threading.Lock()


def _index_members(table: Any) -> IndexMembers:
    members = getattr(table, "_speedup_index_members", None)
    if members is None:
        with _members_lock:
            members = getattr(table, "_speedup_index_members", None)
            if members is None:
                members = IndexMembers(table)
                table._speedup_index_members = members
    return members


def _install_jsonpath_cache() -> None:
    import jsonpath_ng.ext

    # moto imports `parse` from this module inside the function that applies input paths, so
    # replacing the module's name reaches it. Compiled expressions are not changed by `find`.
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)


def _install_backend_lookup_cache() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    found: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        # The caller holds the application's lock, so the dictionary needs no lock of its own.
        if host not in found:
            found[host] = original(self, host)
        return found[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host


def _install_attribute_value_copy() -> None:
    from moto.core.serialize import get_serializer_class

    serializer_class = get_serializer_class("dynamodb", "json")
    original = serializer_class._serialize_type_structure

    def serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and "name" not in shape.serialization:
            plain = plain_attribute_value(value)
            if plain is not None:
                serialized[key] = plain
                return
        original(self, serialized, value, shape, key)

    serializer_class._serialize_type_structure = serialize_type_structure


def plain_attribute_value(value: Any) -> dict[str, Any] | None:
    """Return a copy of a DynamoDB attribute value in its wire form, or None when it contains
    binary data or anything else that the generic serializer has to convert."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((tag, inner),) = value.items()
    if tag in ("S", "N"):
        return {tag: inner} if isinstance(inner, str) else None
    if tag in ("BOOL", "NULL"):
        return {tag: inner} if isinstance(inner, bool) else None
    if tag in ("SS", "NS"):
        return {tag: list(inner)} if isinstance(inner, list) and all(isinstance(x, str) for x in inner) else None
    if tag == "M" and isinstance(inner, dict):
        members = {}
        for name, member in inner.items():
            copied = plain_attribute_value(member)
            if copied is None:
                return None
            members[name] = copied
        return {"M": members}
    if tag == "L" and isinstance(inner, list):
        elements = []
        for element in inner:
            copied = plain_attribute_value(element)
            if copied is None:
                return None
            elements.append(copied)
        return {"L": elements}
    return None


def _unsorted_items(table: Any) -> list[Any]:
    if not table.range_key_attr:
        return list(table.items.values())
    return [item for partition in table.items.values() for item in partition.values()]


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
