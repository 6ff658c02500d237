#!/usr/bin/env python3
"""Validates every JSON document of the golden suite against
docs/policy.schema.json with a small JSON Schema (draft 2020-12) validator
covering exactly the keywords the schema uses, and checks that typical
corruptions of each document are rejected.

    validate_schema.py SCHEMA CASES_DIR...
"""
import copy
import json
import os
import re
import sys

ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs"}
KEYWORDS = {"$ref", "type", "const", "enum", "properties", "required", "additionalProperties",
            "items", "minLength", "minimum", "maximum", "oneOf", "pattern"}


class Invalid(Exception):
    pass


def type_ok(value, name):
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise Invalid("unsupported type %r" % name)


def validate(value, schema, root, where="$"):
    unknown = set(schema) - KEYWORDS - ANNOTATIONS
    if unknown:
        raise Invalid("schema uses unsupported keywords %s" % sorted(unknown))
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise Invalid("unsupported $ref %s" % ref)
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
        validate(value, target, root, where)
    if "type" in schema and not type_ok(value, schema["type"]):
        raise Invalid("%s: expected %s" % (where, schema["type"]))
    if "const" in schema and (value != schema["const"] or type(value) is not type(schema["const"])):
        raise Invalid("%s: expected %r" % (where, schema["const"]))
    if "enum" in schema and value not in schema["enum"]:
        raise Invalid("%s: %r not in %r" % (where, value, schema["enum"]))
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            raise Invalid("%s: too short" % where)
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise Invalid("%s: %r does not match %s" % (where, value, schema["pattern"]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise Invalid("%s: below minimum" % where)
        if "maximum" in schema and value > schema["maximum"]:
            raise Invalid("%s: above maximum" % where)
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise Invalid("%s: missing %s" % (where, key))
        props = schema.get("properties", {})
        for key, item in value.items():
            if key in props:
                validate(item, props[key], root, "%s.%s" % (where, key))
            elif "additionalProperties" in schema:
                extra = schema["additionalProperties"]
                if extra is False:
                    raise Invalid("%s: unknown field %s" % (where, key))
                if isinstance(extra, dict):
                    validate(item, extra, root, "%s.%s" % (where, key))
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], root, "%s[%d]" % (where, i))
    if "oneOf" in schema:
        matches = 0
        for sub in schema["oneOf"]:
            try:
                validate(value, sub, root, where)
                matches += 1
            except Invalid:
                pass
        if matches != 1:
            raise Invalid("%s: matches %d of oneOf" % (where, matches))


def documents(cases):
    for name in sorted(os.listdir(cases)):
        if not name.endswith(".case"):
            continue
        body, inside = [], False
        with open(os.path.join(cases, name), encoding="utf-8") as f:
            for line in f.read().split("\n"):
                if line.startswith("--- "):
                    inside = line == "--- stdout"
                    continue
                if inside:
                    body.append(line)
        text = "\n".join(body)
        if text.startswith("{"):
            # $ROOT: a tree below /var/tmp (wine_cases/: its Windows spelling,
            # JSON-escaped).
            root = "Z:\\\\golden" if '"platform": "windows"' in text else "/golden"
            yield name, json.loads(text.replace("$ROOT", root))


def corruptions(doc):
    """Mutations every valid document must fail with."""
    d = copy.deepcopy(doc); d["colour"] = 1; yield "unknown top-level field", d
    d = copy.deepcopy(doc); d["schema"] = "csb.policy/v2"; yield "other major version", d
    d = copy.deepcopy(doc); del d["summary"]; yield "missing summary", d
    d = copy.deepcopy(doc); d["enforcement"] = "maybe"; yield "bad enforcement", d
    d = copy.deepcopy(doc); d["filesystem"]["entries"].append({"path": "rel", "access": "read", "origin": "x"}); yield "relative path", d
    d = copy.deepcopy(doc); d["filesystem"]["entries"].append({"path": "/x", "access": "all", "origin": "x"}); yield "bad access", d
    d = copy.deepcopy(doc); d["network"]["mode"] = "open"; yield "bad network mode", d
    d = copy.deepcopy(doc); d["legacy"]["projection_error"] = "x"; d["legacy"]["sandbox_policy"] = {"type": "danger-full-access"}; yield "both legacy forms", d
    d = copy.deepcopy(doc); d["profile"]["kind"] = "other"; yield "bad profile kind", d


def main():
    schema_path, dirs = sys.argv[1], sys.argv[2:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    passed = failed = 0
    for name, doc in (d for cases in dirs for d in documents(cases)):
        try:
            validate(doc, schema, schema)
            passed += 1
        except Invalid as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
            continue
        for what, bad in corruptions(doc):
            try:
                validate(bad, schema, schema)
                failed += 1
                print("FAIL %s: schema accepts a document with %s" % (name, what))
            except Invalid:
                passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
