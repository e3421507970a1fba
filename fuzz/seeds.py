#!/usr/bin/env python3
"""Writes fuzz/seeds/requests/: one seed input per request below.

An input is [operation, mode, body...]: `operation` indexes the targets of
tests/data/dynamodb-operations.txt (modulo their number), `mode` picks how
the body is sent (see fuzz/harness/requests.rs), the rest is the body.
Rerun after regenerating the operations list. Run from the repository root.
"""
import hashlib
import json
import os

TABLE = "tbl"
KEY = {"pk": {"S": "a"}, "sk": {"N": "1"}}
ITEM = {"pk": {"S": "a"}, "sk": {"N": "1"}, "b": {"B": "AAEC"}, "l": {"L": [{"M": {"x": {"BOOL": True}}}, {"NULL": True}]},
        "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["AA=="]}}
ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/tbl"
IX = "ix"
IX_ITEM = {"pk": {"S": "a"}, "sk": {"N": "1"}, "gk": {"S": "x"}, "lk": {"N": "3"}, "v": {"S": "v"}, "w": {"B": "AA=="}}
SEEDS = [
    ("PutItem", {"TableName": TABLE, "Item": ITEM, "ConditionExpression": "attribute_not_exists(pk) OR #n > :v",
                 "ExpressionAttributeNames": {"#n": "n"}, "ExpressionAttributeValues": {":v": {"N": "3"}},
                 "ReturnValues": "ALL_OLD"}),
    ("PutItem", {"TableName": TABLE, "Item": ITEM, "Expected": {"pk": {"Exists": False}}}),
    ("GetItem", {"TableName": TABLE, "Key": KEY, "ProjectionExpression": "pk, l[0].x", "ConsistentRead": True}),
    ("UpdateItem", {"TableName": TABLE, "Key": KEY, "UpdateExpression": "SET c = if_not_exists(c, :z) + :one REMOVE d ADD s :s",
                    "ExpressionAttributeValues": {":z": {"N": "0"}, ":one": {"N": "1"}, ":s": {"SS": ["q"]}},
                    "ReturnValues": "UPDATED_NEW"}),
    ("UpdateItem", {"TableName": TABLE, "Key": KEY, "AttributeUpdates": {"c": {"Action": "ADD", "Value": {"N": "2"}}}}),
    ("DeleteItem", {"TableName": TABLE, "Key": KEY, "ConditionExpression": "size(l) < :n",
                    "ExpressionAttributeValues": {":n": {"N": "5"}}}),
    ("Query", {"TableName": TABLE, "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
               "FilterExpression": "contains(ss, :x)", "ExpressionAttributeValues": {":p": {"S": "a"}, ":a": {"N": "0"},
               ":b": {"N": "9"}, ":x": {"S": "x"}}, "Limit": 5, "ScanIndexForward": False, "Select": "ALL_ATTRIBUTES"}),
    ("Query", {"TableName": TABLE, "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
               "QueryFilter": {"b": {"ComparisonOperator": "NOT_NULL"}}}),
    ("Scan", {"TableName": TABLE, "Segment": 0, "TotalSegments": 2, "ExclusiveStartKey": KEY,
              "ReturnConsumedCapacity": "TOTAL"}),
    ("Scan", {"TableName": TABLE, "ScanFilter": {"sk": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "0"}]}},
              "ConditionalOperator": "OR"}),
    ("BatchWriteItem", {"RequestItems": {TABLE: [{"PutRequest": {"Item": ITEM}}, {"DeleteRequest": {"Key": KEY}}]}}),
    ("BatchGetItem", {"RequestItems": {TABLE: {"Keys": [KEY], "ProjectionExpression": "pk"}}}),
    ("CreateTable", {"TableName": "fz", "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
                     "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST",
                     "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}),
    ("DescribeTable", {"TableName": TABLE}),
    ("UpdateTable", {"TableName": TABLE, "BillingMode": "PROVISIONED",
                     "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}),
    ("ListTables", {"Limit": 3, "ExclusiveStartTableName": "a"}),
    ("TagResource", {"ResourceArn": ARN, "Tags": [{"Key": "k", "Value": "v"}]}),
    ("ListTagsOfResource", {"ResourceArn": ARN}),
    ("UpdateTimeToLive", {"TableName": TABLE, "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "ttl"}}),
    ("UpdateContinuousBackups", {"TableName": TABLE, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}),
    ("CreateBackup", {"TableName": TABLE, "BackupName": "b1"}),
    ("ListBackups", {"TableName": TABLE, "TimeRangeLowerBound": 0, "TimeRangeUpperBound": 2000000000.5}),
    ("RestoreTableToPointInTime", {"SourceTableName": TABLE, "TargetTableName": "restored", "UseLatestRestorableTime": True}),
    ("DescribeContributorInsights", {"TableName": TABLE}),
    ("UpdateContributorInsights", {"TableName": TABLE, "ContributorInsightsAction": "ENABLE"}),
    ("PutResourcePolicy", {"ResourceArn": ARN, "Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"}),
    ("GetResourcePolicy", {"ResourceArn": ARN}),
    ("DescribeLimits", {}),
    ("ListGlobalTables", {"Limit": 1}),
    ("DescribeTableReplicaAutoScaling", {"TableName": TABLE}),
    ("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": TABLE, "Item": ITEM}}]}),
    ("ExecuteStatement", {"Statement": "SELECT * FROM tbl WHERE pk = ?", "Parameters": [{"S": "a"}]}),
    # Secondary indexes: table "ix" (pk S, sk N) with GSI g1 (gk S, ALL) and
    # LSI l1 (pk, lk N, INCLUDE), and the operations that use them.
    ("CreateTable", {"TableName": IX, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                    {"AttributeName": "sk", "KeyType": "RANGE"}],
                     "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "N"},
                                              {"AttributeName": "gk", "AttributeType": "S"},
                                              {"AttributeName": "lk", "AttributeType": "N"}],
                     "BillingMode": "PAY_PER_REQUEST",
                     "GlobalSecondaryIndexes": [{"IndexName": "g1", "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
                                                 "Projection": {"ProjectionType": "ALL"}}],
                     "LocalSecondaryIndexes": [{"IndexName": "l1", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                                                 {"AttributeName": "lk", "KeyType": "RANGE"}],
                                                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["v"]}}]}),
    ("PutItem", {"TableName": IX, "Item": IX_ITEM, "ReturnItemCollectionMetrics": "SIZE",
                 "ReturnConsumedCapacity": "INDEXES"}),
    ("PutItem", {"TableName": IX, "Item": {"pk": {"S": "a"}, "sk": {"N": "2"}, "gk": {"N": "1"}, "lk": {"S": ""}}}),
    ("Query", {"TableName": IX, "IndexName": "g1", "KeyConditionExpression": "gk = :g",
               "ExpressionAttributeValues": {":g": {"S": "x"}}, "Select": "ALL_PROJECTED_ATTRIBUTES",
               "ExclusiveStartKey": {"gk": {"S": "x"}, "pk": {"S": "a"}, "sk": {"N": "1"}}}),
    ("Query", {"TableName": IX, "IndexName": "l1", "KeyConditions": {
                   "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]},
                   "lk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "0"}, {"N": "9"}]}},
               "Select": "SPECIFIC_ATTRIBUTES", "AttributesToGet": ["w"], "ConsistentRead": True,
               "ScanIndexForward": False, "ReturnConsumedCapacity": "INDEXES"}),
    ("Scan", {"TableName": IX, "IndexName": "g1", "Segment": 1, "TotalSegments": 3, "Select": "COUNT"}),
    ("UpdateTable", {"TableName": IX, "AttributeDefinitions": [{"AttributeName": "hk", "AttributeType": "B"}],
                     "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "g2",
                         "KeySchema": [{"AttributeName": "hk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                         "Projection": {"ProjectionType": "KEYS_ONLY"}}}]}),
    ("UpdateTable", {"TableName": IX, "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "g2"}}]}),
    ("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": IX, "Item": IX_ITEM}},
                                              {"Update": {"TableName": IX, "Key": {"pk": {"S": "b"}, "sk": {"N": "1"}},
                                                          "UpdateExpression": "SET gk = :g REMOVE lk",
                                                          "ExpressionAttributeValues": {":g": {"S": "y"}}}}],
                            "ReturnItemCollectionMetrics": "SIZE"}),
]
STREAMS = [
    ("ListStreams", {"TableName": TABLE}),
    ("DescribeStream", {"StreamArn": ARN + "/stream/2026-01-01T00:00:00.000"}),
    ("GetShardIterator", {"StreamArn": ARN + "/stream/x", "ShardId": "shardId-1", "ShardIteratorType": "TRIM_HORIZON"}),
]


def main():
    targets = [l.strip() for l in open("tests/data/dynamodb-operations.txt") if l.strip() and not l.startswith("#")]
    out = "fuzz/seeds/requests"
    os.makedirs(out, exist_ok=True)
    requests = [("DynamoDB_20120810." + op, body) for op, body in SEEDS]
    requests += [("DynamoDBStreams_20120810." + op, body) for op, body in STREAMS]
    for target, body in requests:
        for mode in (0, 1):
            data = bytes([targets.index(target), mode]) + json.dumps(body).encode()
            name = hashlib.sha1(data).hexdigest()[:16]
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
