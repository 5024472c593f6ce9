#!/usr/bin/python3
"""Validate the agent's sample documents against docs/schemas (JSON Schema 2020-12).

usage: validate.py SCHEMA_DIR SAMPLE_DIR

Each SAMPLE_DIR/<name>[.<variant>].json is checked against SCHEMA_DIR/<name>.json;
<name>.jsonl files line by line. A broken copy of every document must be rejected, so the check can fail.
"""
import copy
import json
import pathlib
import sys

import jsonschema


def load_store(schema_dir):
    store = {}
    for path in sorted(schema_dir.glob("*.json")):
        schema = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        store[schema["$id"]] = schema
    return store


def validator_for(store, schema):
    try:  # jsonschema >= 4.18
        from referencing import Registry, Resource
        registry = Registry().with_resources(
            (uri, Resource.from_contents(s)) for uri, s in store.items())
        return jsonschema.Draft202012Validator(schema, registry=registry)
    except ImportError:  # Debian 12: jsonschema 4.10
        resolver = jsonschema.RefResolver(schema["$id"], schema, store=store)
        return jsonschema.Draft202012Validator(schema, resolver=resolver)


def broken(doc):
    """A copy that must fail: a required key removed, or an unknown one added."""
    bad = copy.deepcopy(doc)
    for key in ("v", "seq", "boot", "t_ms"):
        if key in bad:
            del bad[key]
            return bad
    bad["not_in_the_schema"] = 1
    return bad


def main():
    schema_dir, sample_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    store = load_store(schema_dir)
    checked = 0
    failed = 0
    samples = sorted(sample_dir.glob("*.json")) + sorted(sample_dir.glob("*.jsonl"))
    for sample in samples:
        name = sample.name.split(".", 1)[0] + ".json"  # health.restored.json: health.json
        schema = next((s for s in store.values() if s["$id"].endswith("/" + name)), None)
        if schema is None:
            print(f"{sample}: no schema {name} in {schema_dir}")
            failed += 1
            continue
        v = validator_for(store, schema)
        lines = sample.read_text().splitlines() if sample.suffix == ".jsonl" else [sample.read_text()]
        for n, text in enumerate(lines, 1):
            doc = json.loads(text)
            errors = list(v.iter_errors(doc))
            for e in errors:
                print(f"{sample}:{n}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
            failed += bool(errors)
            if v.is_valid(broken(doc)):
                print(f"{sample}:{n}: a broken copy passed the schema")
                failed += 1
            checked += 1
    if checked == 0:
        print(f"no samples in {sample_dir}")
        return 1
    print(f"{checked} documents checked against {len(store)} schemas, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
