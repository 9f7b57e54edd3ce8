"""Tests of infra/moto_server.py: after random writes of every kind, each index Query answers
exactly what stock moto's walk of the table answers; answers with items are the JSON stock
moto's serializer writes, for every attribute type.

Run: infra/.venv/bin/python -m unittest infra/moto_server_test.py (part of `make test`).
`MOTO_INDEX_BENCH=20000` also times index Queries on a table of that many items.
"""

import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402
from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402

import moto_server  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402

TABLE = "partitions-test"


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class Emulator:
    """moto_server's app on a free local port, in this process."""

    def __init__(self):
        app = moto_server.SerialiseDynamoDB(DomainDispatcherApplication(create_backend_app))
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def stop(self):
        self.server.shutdown()


def create_table(ddb):
    ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g1", "g1s", "g2")
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByG1",
                "KeySchema": [
                    {"AttributeName": "g1", "KeyType": "HASH"},
                    {"AttributeName": "g1s", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "ByG2",
                "KeySchema": [{"AttributeName": "g2", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    )


def random_item(rng):
    item = {
        "pk": {"S": f"p{rng.randrange(8)}"},
        "sk": {"S": f"s{rng.randrange(12)}"},
        "n": {"N": str(rng.randrange(100))},
    }
    if rng.random() < 0.7:  # sparse: some items are in no partition of ByG1
        item["g1"] = {"S": f"a{rng.randrange(4)}"}
        item["g1s"] = {"S": f"{rng.randrange(50):03}"}
    if rng.random() < 0.5:
        item["g2"] = {"S": f"b{rng.randrange(3)}"}
    return item


def key_of(item):
    return {"pk": item["pk"], "sk": item["sk"]}


def random_update(ddb, rng):
    """An UpdateItem (or a transaction's Update) that moves, adds or removes index keys."""
    choice = rng.randrange(3)
    if choice == 0:
        return {
            "UpdateExpression": "SET g1 = :g, g1s = :s",
            "ExpressionAttributeValues": {
                ":g": {"S": f"a{rng.randrange(4)}"},
                ":s": {"S": f"{rng.randrange(50):03}"},
            },
        }
    if choice == 1:
        return {"UpdateExpression": "REMOVE g1, g2"}
    return {
        "UpdateExpression": "SET g2 = :g ADD n :one",
        "ExpressionAttributeValues": {":g": {"S": f"b{rng.randrange(3)}"}, ":one": {"N": "1"}},
    }


def random_write(ddb, rng):
    kind = rng.randrange(6)
    item = random_item(rng)
    if kind == 0:
        ddb.put_item(TableName=TABLE, Item=item)
    elif kind == 1:
        ddb.update_item(TableName=TABLE, Key=key_of(item), **random_update(ddb, rng))
    elif kind == 2:
        ddb.delete_item(TableName=TABLE, Key=key_of(item))
    elif kind == 3:
        items = {}
        for _ in range(rng.randrange(1, 5)):
            candidate = random_item(rng)
            items[(candidate["pk"]["S"], candidate["sk"]["S"])] = candidate
        requests = [
            {"PutRequest": {"Item": i}} if rng.random() < 0.7 else {"DeleteRequest": {"Key": key_of(i)}}
            for i in items.values()
        ]
        ddb.batch_write_item(RequestItems={TABLE: requests})
    else:
        # A transaction; kind 5 fails on its condition and must leave everything as it was.
        other = random_item(rng)
        if key_of(other) == key_of(item):
            return
        update = {"TableName": TABLE, "Key": key_of(other), **random_update(ddb, rng)}
        if kind == 5:
            update["ConditionExpression"] = "attribute_exists(never)"
        try:
            ddb.transact_write_items(
                TransactItems=[{"Put": {"TableName": TABLE, "Item": item}}, {"Update": update}]
            )
        except ddb.exceptions.TransactionCanceledException:
            pass


def query_all(ddb, **kwargs):
    """Every page of a Query: the items in order."""
    items, start = [], None
    while True:
        page = ddb.query(TableName=TABLE, **kwargs, **({"ExclusiveStartKey": start} if start else {}))
        items.extend(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def index_queries(ddb, rng):
    """Queries of both indexes, with and without range conditions, forward and back, paged."""
    g1 = {":g": {"S": f"a{rng.randrange(4)}"}}
    yield query_all(
        ddb, IndexName="ByG1", KeyConditionExpression="g1 = :g", ExpressionAttributeValues=g1,
        Limit=rng.randrange(1, 6), ScanIndexForward=rng.random() < 0.5,
    )
    yield query_all(
        ddb, IndexName="ByG1", KeyConditionExpression="g1 = :g AND g1s < :s",
        ExpressionAttributeValues={**g1, ":s": {"S": f"{rng.randrange(50):03}"}},
    )
    yield query_all(
        ddb, IndexName="ByG2", KeyConditionExpression="g2 = :g",
        ExpressionAttributeValues={":g": {"S": f"b{rng.randrange(3)}"}}, Limit=3,
    )


class IndexPartitionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emulator = Emulator()
        cls.ddb = boto3.client("dynamodb", endpoint_url=cls.emulator.url, region_name="us-east-1")

    @classmethod
    def tearDownClass(cls):
        cls.emulator.stop()

    def setUp(self):
        moto_server.CHECK_INDEX = True
        moto_server.INDEX_MISMATCHES.clear()
        create_table(self.ddb)

    def tearDown(self):
        self.ddb.delete_table(TableName=TABLE)
        moto_server.CHECK_INDEX = False

    def test_index_queries_answer_what_a_walk_of_the_table_answers_after_every_kind_of_write(self):
        rng = random.Random(7)
        found = 0
        for _ in range(40):  # writes before the first Query: the map is built from them
            random_write(self.ddb, rng)
        for _ in range(250):
            random_write(self.ddb, rng)
            for items in index_queries(self.ddb, rng):
                found += len(items)
        self.assertEqual(moto_server.INDEX_MISMATCHES, [])
        self.assertGreater(found, 400, "the queries found items: the check compared something")

    def test_a_table_recreated_under_the_same_name_starts_with_its_own_partitions(self):
        item = random_item(random.Random(1))
        item["g2"] = {"S": "b0"}
        self.ddb.put_item(TableName=TABLE, Item=item)
        first = query_all(self.ddb, IndexName="ByG2", KeyConditionExpression="g2 = :g",
                          ExpressionAttributeValues={":g": {"S": "b0"}})
        self.assertEqual(len(first), 1)
        self.ddb.delete_table(TableName=TABLE)
        create_table(self.ddb)
        again = query_all(self.ddb, IndexName="ByG2", KeyConditionExpression="g2 = :g",
                          ExpressionAttributeValues={":g": {"S": "b0"}})
        self.assertEqual(again, [])

    @unittest.skipUnless(os.environ.get("MOTO_INDEX_BENCH"), "set MOTO_INDEX_BENCH=<items>")
    def test_bench_index_query_time(self):
        moto_server.CHECK_INDEX = False
        count = int(os.environ["MOTO_INDEX_BENCH"])
        for start in range(0, count, 25):
            self.ddb.batch_write_item(RequestItems={TABLE: [
                {"PutRequest": {"Item": {"pk": {"S": f"p{i}"}, "sk": {"S": "s"}, "g2": {"S": f"b{i % 500}"}}}}
                for i in range(start, min(start + 25, count))
            ]})
        started = time.perf_counter()
        for i in range(200):
            query_all(self.ddb, IndexName="ByG2", KeyConditionExpression="g2 = :g",
                      ExpressionAttributeValues={":g": {"S": f"b{i}"}})
        print(f"\n{count} items: {(time.perf_counter() - started) / 200 * 1000:.2f} ms per index Query")


def typed_item(n):
    """An item with a value of every attribute type (binary only on the first)."""
    item = {
        "pk": {"S": "typed"},
        "sk": {"S": f"s{n:03}"},
        "n": {"N": str(n * 1.5)},
        "flag": {"BOOL": n % 2 == 0},
        "none": {"NULL": True},
        "map": {"M": {"a": {"S": "é\"\\"}, "b": {"L": [{"N": "1"}, {"BOOL": False}]}}},
        "list": {"L": [{"S": "x"}, {"M": {"c": {"NULL": True}}}]},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
    }
    if n == 0:
        item["bin"] = {"B": bytes([n, 0, 255])}
    return item


class ItemAnswersTest(unittest.TestCase):
    """Answers with items are written with json.dumps: the same as the stock serializer's."""

    @classmethod
    def setUpClass(cls):
        cls.emulator = Emulator()
        cls.ddb = boto3.client("dynamodb", endpoint_url=cls.emulator.url, region_name="us-east-1")
        create_table(cls.ddb)
        for n in range(12):
            cls.ddb.put_item(TableName=TABLE, Item=typed_item(n))

    @classmethod
    def tearDownClass(cls):
        cls.ddb.delete_table(TableName=TABLE)
        cls.emulator.stop()

    def answers(self):
        key = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "typed"}}}
        textual = {  # the items without a binary value: the json.dumps way
            "KeyConditionExpression": "pk = :p AND sk > :s",
            "ExpressionAttributeValues": {":p": {"S": "typed"}, ":s": {"S": "s000"}},
        }
        requests = [
            lambda: self.ddb.query(TableName=TABLE, **textual),
            lambda: self.ddb.query(TableName=TABLE, **key),
            lambda: self.ddb.query(TableName=TABLE, Limit=4, ReturnConsumedCapacity="TOTAL", **key),
            lambda: self.ddb.query(TableName=TABLE, Select="COUNT", **key),
            lambda: self.ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                                   ExpressionAttributeValues={":p": {"S": "none"}}),
            lambda: self.ddb.scan(TableName=TABLE, Limit=5),
        ]
        answers = []
        for request in requests:
            answer = request()
            answer.pop("ResponseMetadata")
            answers.append(answer)
        return answers

    def test_every_attribute_type_is_answered_as_the_stock_serializer_answers_it(self):
        fast = self.answers()
        moto_server.DynamoResult.execute_result = moto_server._stock_execute_result
        try:
            stock = self.answers()
        finally:
            moto_server.DynamoResult.execute_result = moto_server._execute_result
        self.assertEqual(fast, stock)
        self.assertEqual((len(fast[0]["Items"]), len(fast[1]["Items"])), (11, 12))
        self.assertIn("LastEvaluatedKey", fast[2])
        self.assertEqual(fast[2]["ConsumedCapacity"]["TableName"], TABLE)


if __name__ == "__main__":
    unittest.main()
