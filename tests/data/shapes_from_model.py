#!/usr/bin/env python3
"""Regenerates src/api/shapes.json and tests/data/dynamodb-operations.txt
from botocore's service models of DynamoDB and DynamoDB Streams.

Usage: shapes_from_model.py DYNAMODB_SERVICE_2_JSON STREAMS_SERVICE_2_JSON

Only the request (input) shapes are kept, reduced to what a JSON type check
needs: a structure's members, a list's member, a map's value, and the type
of every other shape.
"""
import json
import sys


def reduce_service(model):
    shapes = model["shapes"]
    keep = {}

    def visit(name):
        if name in keep:
            return
        shape = shapes[name]
        kind = shape["type"]
        if kind == "structure":
            keep[name] = [kind, {}]
            members = {m: s["shape"] for m, s in shape.get("members", {}).items()}
            keep[name][1] = members
            for target in members.values():
                visit(target)
        elif kind == "list":
            keep[name] = [kind, shape["member"]["shape"]]
            visit(shape["member"]["shape"])
        elif kind == "map":
            keep[name] = [kind, shape["value"]["shape"]]
            visit(shape["value"]["shape"])
        else:
            keep[name] = [kind]

    operations = {}
    for op_name, op in sorted(model["operations"].items()):
        if "input" in op:
            operations[op_name] = op["input"]["shape"]
            visit(op["input"]["shape"])
        else:
            operations[op_name] = None
    return {"operations": operations, "shapes": dict(sorted(keep.items()))}


def main():
    dynamo = json.load(open(sys.argv[1]))
    streams = json.load(open(sys.argv[2]))
    out = {}
    names = []
    for model in (dynamo, streams):
        prefix = model["metadata"]["targetPrefix"]
        out[prefix] = reduce_service(model)
        names += [f"{prefix}.{op}" for op in sorted(model["operations"])]
    with open("src/api/shapes.json", "w") as f:
        json.dump(out, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    with open("tests/data/dynamodb-operations.txt", "w") as f:
        f.write("# Every operation of the DynamoDB and DynamoDB Streams API references,\n")
        f.write("# as X-Amz-Target values, from botocore's service models\n")
        f.write("# (tests/data/shapes_from_model.py regenerates this file).\n")
        for name in names:
            f.write(name + "\n")


if __name__ == "__main__":
    main()
