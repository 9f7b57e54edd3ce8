"""moto_server with fixes to its DynamoDB TransactWriteItems and Query.

moto 5.2's TransactWriteItems deep-copies every table it touches to roll back on failure:
1. a concurrent PutItem/UpdateItem on another server thread changes the dict mid-copy and the
   request fails with HTTP 500 ("dictionary changed size during iteration");
2. the copy costs time proportional to the table size (≈90 ms per transaction at 600 items),
   so a local benchmark measures moto's copying, not our code.
3. Its Query gathers candidates from `Table.all_items()`, which sorts the whole table on every
   call (every page), even for a base-table Query of one partition: a Query costs
   O(n log n) in the table size, where DynamoDB reads only the key range.
Real DynamoDB has none of these problems. This launcher runs the stock moto app with (1) one
lock around DynamoDB requests (SQS and EventBridge stay concurrent: SQS long polls must not
block everything; DynamoDB on moto is bound by the Python GIL anyway), (2) a rollback that
snapshots only the items a transaction touches instead of whole tables and (3) a Query that
takes its candidates from the one partition it names (base table) or from the unsorted items
(index: moto filters and sorts the matches itself). Semantics are unchanged: all-or-nothing,
same errors and cancellation reasons, same Query results and order.

Usage: python infra/moto_server.py -H 127.0.0.1 -p 4566
"""

import argparse
import os
import threading

from werkzeug.serving import run_simple

import copy
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
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
# sorts them. Inside a Query, hand it only the candidates instead; the sort of the matches that
# follows in stock moto gives the same order.
_query_scope = threading.local()
_stock_all_items = Table.all_items
_stock_query = Table.query


def _all_items(self):
    if getattr(_query_scope, "table", None) is not self:
        return _stock_all_items(self)
    partition_key = _query_scope.partition_key
    if partition_key is None:
        partitions = list(self.items.values())
    else:
        partition = self.items.get(partition_key)
        partitions = [] if partition is None else [partition]
    if self.range_key_attr:
        return [item for partition in partitions for item in list(partition.values())]
    return partitions


def _query(self, hash_key, *args, **kwargs):
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    _query_scope.table = self
    _query_scope.partition_key = None if index_name else hash_key
    try:
        return _stock_query(self, hash_key, *args, **kwargs)
    finally:
        _query_scope.table = None


Table.all_items = _all_items
Table.query = _query


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
