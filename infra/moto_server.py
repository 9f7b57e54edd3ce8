"""moto_server with fixes to its DynamoDB TransactWriteItems and Query.

moto 5.2's TransactWriteItems deep-copies every table it touches to roll back on failure:
1. a concurrent PutItem/UpdateItem on another server thread changes the dict mid-copy and the
   request fails with HTTP 500 ("dictionary changed size during iteration");
2. the copy costs time proportional to the table size (≈90 ms per transaction at 600 items),
   so a local benchmark measures moto's copying, not our code.
3. Its Query gathers candidates from `Table.all_items()`, which sorts the whole table on every
   call (every page), even for a base-table Query of one partition: a Query costs
   O(n log n) in the table size, where DynamoDB reads only the key range. An index Query
   still tests every item of the table (about 1.1 µs each): with 20,000 items each costs
   ~20 ms, and a service polling its indexes a few dozen times a second saturates the
   emulator, so every other request waits behind the walks.
4. It turns every answer into JSON through botocore's shape model, value by value: about
   1.8 ms per item returned, so a Query of a few hundred items (the timer dispatcher's tick)
   holds the emulator for most of a second and every other request waits behind it.
Real DynamoDB has none of these problems. This launcher runs the stock moto app with (1) one
lock around DynamoDB requests (SQS and EventBridge stay concurrent: SQS long polls must not
block everything; DynamoDB on moto is bound by the Python GIL anyway), (2) a rollback that
snapshots only the items a transaction touches instead of whole tables and (3) a Query that
takes its candidates from the one partition it names (base table) or, on an index, from an
in-memory map of the index's partitions (built on the first Query of the table, kept up to
date after every write of an item; moto filters and sorts the matches itself) and (4) answers
with items (Query, Scan) whose `Items` list is written with `json.dumps`, the rest
of the answer through the stock serializer (an item with a binary value goes the stock way).
Semantics are unchanged: all-or-nothing, same errors and cancellation reasons, same Query
results and order, the same JSON.
`MOTO_INDEX_CHECK=1` runs every index Query the stock way too and reports any difference on
stderr (a check of the map, slow).

Usage: python infra/moto_server.py -H 127.0.0.1 -p 4566
"""

import argparse
import json
import os
import threading

from werkzeug.serving import run_simple

import copy
import sys
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


# moto's transact_write_items backs up whole tables with copy.deepcopy; hand it the table
# itself instead (no copy) and roll back touched items ourselves.
def _deepcopy_except_tables(value, memo=None):
    if isinstance(value, Table):
        return value
    return copy.deepcopy(value, memo)


dynamodb_models.copy = types.SimpleNamespace(deepcopy=_deepcopy_except_tables, copy=copy.copy)
_stock_transact_write_items = DynamoDBBackend.transact_write_items


def _item_key(table, op):
    attrs = op.get("Item") or op.get("Key") or {}
    key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs.get(table.range_key_attr)
    return key


def _transact_write_items(self, transact_items):
    snapshots = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = _item_key(table, op)
        if None in key.values():
            continue
        try:
            current = self.get_item(table.name, key)
        except Exception:  # invalid keys: moto reports them itself below
            continue
        before = copy.deepcopy(current.to_json()["Attributes"]) if current else None
        snapshots.append((table.name, key, before))
    try:
        return _stock_transact_write_items(self, transact_items)
    except Exception:
        for table_name, key, before in reversed(snapshots):
            if before is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, before)
        raise


DynamoDBBackend.transact_write_items = _transact_write_items

# Query: stock moto reads `all_items()` (the whole table, sorted) and then keeps the matches and
# sorts them. Inside a Query, hand it only the candidates instead (the partition a base-table
# Query names; the index partition of an index Query, from `IndexPartitions`); the sort of the
# matches that follows in stock moto gives the same order.
_query_scope = threading.local()
_stock_all_items = Table.all_items
_stock_query = Table.query
# MOTO_INDEX_CHECK=1: every index Query also walks the table; differences are kept here.
CHECK_INDEX = os.environ.get("MOTO_INDEX_CHECK") == "1"
INDEX_MISMATCHES = []


class IndexPartitions:
    """The items of each index partition of one table: index name -> hash value -> {key: item}.

    Keyed by the index's first HASH attribute; an item without it is in no partition of that
    index (sparse index). Stock moto still checks every key condition on the candidates.
    """

    def __init__(self, table):
        self.hash_attrs = {}
        for index in table.all_indexes():
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            if hashes:
                self.hash_attrs[index.name] = hashes[0]
        self.partitions = {name: {} for name in self.hash_attrs}
        self.placed = {}
        for item in _stock_all_items(table):
            if isinstance(item, Item):
                self.place((item.hash_key, item.range_key), item)

    def place(self, key, item):
        """Files `item` (None: deleted) under its primary `key` again."""
        for name, value in self.placed.pop(key, ()):
            partition = self.partitions[name].get(value)
            if partition is not None:
                partition.pop(key, None)
                if not partition:
                    del self.partitions[name][value]
        if item is None:
            return
        placed = []
        for name, attr in self.hash_attrs.items():
            value = item.attrs.get(attr)
            if value is not None:
                self.partitions[name].setdefault(value, {})[key] = item
                placed.append((name, value))
        if placed:
            self.placed[key] = placed

    def candidates(self, index_name, hash_key, hash_key_conditions):
        """The items of the partition a Query names; None if it cannot tell which."""
        attr = self.hash_attrs.get(index_name)
        if attr is None:
            return None
        value = hash_key
        for name, condition in hash_key_conditions or ():
            if name == attr:
                value = condition
        if value is None:
            return None
        return list(self.partitions[index_name].get(value, {}).values())


def _partitions(table):
    partitions = table.__dict__.get("_index_partitions")
    if partitions is None:
        partitions = IndexPartitions(table)
        table._index_partitions = partitions
    return partitions


def _all_items(self):
    if getattr(_query_scope, "table", None) is not self:
        return _stock_all_items(self)
    if _query_scope.candidates is not None:
        return _query_scope.candidates
    partition_key = _query_scope.partition_key
    if partition_key is None:
        partitions = list(self.items.values())
    else:
        partition = self.items.get(partition_key)
        partitions = [] if partition is None else [partition]
    if self.range_key_attr:
        return [item for partition in partitions for item in list(partition.values())]
    return partitions


def _scoped_query(self, partition_key, candidates, hash_key, args, kwargs):
    _query_scope.table = self
    _query_scope.partition_key = partition_key
    _query_scope.candidates = candidates
    try:
        return _stock_query(self, hash_key, *args, **kwargs)
    finally:
        _query_scope.table = None


def _query(self, hash_key, *args, **kwargs):
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if not index_name:
        return _scoped_query(self, hash_key, None, hash_key, args, kwargs)
    candidates = _partitions(self).candidates(
        index_name, hash_key, kwargs.get("hash_key_conditions")
    )
    result = _scoped_query(self, None, candidates, hash_key, args, kwargs)
    if CHECK_INDEX and candidates is not None:
        expected = _scoped_query(self, None, None, hash_key, args, kwargs)
        if [i.to_json() for i in result[0]] != [i.to_json() for i in expected[0]] or (
            result[2] != expected[2]
        ):
            mismatch = (
                f"MOTO_INDEX_CHECK: {self.name}/{index_name} {hash_key}: "
                f"{len(result[0])} items from the map, {len(expected[0])} by a walk"
            )
            INDEX_MISMATCHES.append(mismatch)
            print(mismatch, file=sys.stderr, flush=True)
    return result


Table.all_items = _all_items
Table.query = _query


# Keep the index partitions up to date: after any write, file the written key again. Batch
# writes and transactions write through these three methods too.
def _key_of(table, attrs):
    hash_value = attrs.get(table.hash_key_attr)
    if hash_value is None:
        return None
    range_value = None
    if table.range_key_attr is not None:
        range_value = attrs.get(table.range_key_attr)
        if range_value is None:
            return None
        range_value = DynamoType(range_value)
    return DynamoType(hash_value), range_value


def _table(backend, args, kwargs, name):
    """The table a backend call names (first argument), or None."""
    table_name = args[0] if args else kwargs.get(name)
    try:
        return backend.get_table(table_name)
    except Exception:  # no such table: the call failed on it already
        return None


def _refiling(stock, attrs_name):
    """`stock` (a write of one item: table, then its key or item) that files the item again."""

    def write(self, *args, **kwargs):
        try:
            return stock(self, *args, **kwargs)
        finally:
            table = _table(self, args, kwargs, "table_name")
            partitions = None if table is None else table.__dict__.get("_index_partitions")
            attrs = args[1] if len(args) > 1 else kwargs.get(attrs_name)
            key = None if partitions is None else _key_of(table, attrs or {})
            if key is not None:
                partitions.place(key, table.get_item(*key))

    return write


def _forgetting_partitions(stock):
    """`stock` (a change of a table's indexes) that drops the table's map (built again)."""

    def update(self, *args, **kwargs):
        try:
            return stock(self, *args, **kwargs)
        finally:
            table = _table(self, args, kwargs, "name")
            if table is not None:
                table.__dict__.pop("_index_partitions", None)

    return update


DynamoDBBackend.put_item = _refiling(DynamoDBBackend.put_item, "item_attrs")
DynamoDBBackend.update_item = _refiling(DynamoDBBackend.update_item, "key")
DynamoDBBackend.delete_item = _refiling(DynamoDBBackend.delete_item, "key")
DynamoDBBackend.update_table = _forgetting_partitions(DynamoDBBackend.update_table)


# moto serialises an answer through the shape model value by value; an answer's items are
# already DynamoDB JSON (plain dicts and strings after `dynamo_to_dict`), so write them with
# json.dumps and let the stock serializer do the rest of the answer.
_stock_execute_result = DynamoResult.execute_result


def _execute_result(self, context):
    result = self.result
    items = result.get("Items") if isinstance(result, dict) else None
    if not items:
        return _stock_execute_result(self, context)
    self._result = {**result, "Items": []}
    try:
        status, headers, body = _stock_execute_result(self, context)
    finally:
        self._result = result
    answer = json.loads(body)
    if answer.get("Items") != []:
        return _stock_execute_result(self, context)
    answer["Items"] = items
    try:
        return status, headers, json.dumps(answer)
    except TypeError:  # bytes of a binary value: the stock serializer base64-encodes them
        return _stock_execute_result(self, context)


DynamoResult.execute_result = _execute_result


class SerialiseDynamoDB:
    """WSGI middleware: one DynamoDB request at a time."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with self.lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, SerialiseDynamoDB(app), threaded=True)


if __name__ == "__main__":
    main()
