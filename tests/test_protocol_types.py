"""Every struct in protocol/src/types.rs that mirrors a definition of the official DAP schema has
fields of the schema's names and JSON types: inputs as well as outputs, whether or not a test
happens to receive them. The walk reads the Rust source; the schema is tests/debugAdapterProtocol.json."""

import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPES_RS = os.path.join(ROOT, "protocol", "src", "types.rs")
SCHEMA = json.load(open(os.path.join(ROOT, "tests", "debugAdapterProtocol.json")))["definitions"]

# pydbg's own attributes, as debugpy names them: no schema definition mirrors them.
OWN = {"AttachArguments", "PathMappingArgument", "CodeRuleArgument", "VariablePresentation", "RecordArguments"}
# One struct for the requests whose arguments are a thread and step options.
SHARED = {"ThreadArguments": ["ContinueArguments", "NextArguments", "StepInArguments", "StepOutArguments",
                              "PauseArguments", "ExceptionInfoArguments", "StepBackArguments",
                              "ReverseContinueArguments"],
          "InitializeArguments": ["InitializeRequestArguments"]}
# One body for the responses of both requests that set a value.
SHARED_BODIES = {"SetValueBody": ["SetVariableResponse", "SetExpressionResponse"],
                 "BreakpointsBody": ["SetBreakpointsResponse", "SetFunctionBreakpointsResponse",
                                     "SetInstructionBreakpointsResponse"]}
INTEGER = {"i64", "u64", "i32", "u32", "usize"}


def rust_structs():
    """{name: [(json name, rust type)]} for every struct that serde reads or writes."""
    text = open(TYPES_RS).read()
    structs = {}
    for match in re.finditer(r"((?:#\[[^\n]*\]\n)*)pub struct (\w+) \{\n(.*?)\n\}", text, re.S):
        attributes, name, body = match.groups()
        camel = 'rename_all = "camelCase"' in attributes
        fields, pending_rename = [], None
        for line in body.splitlines():
            line = line.strip()
            rename = re.search(r'rename = "(\w+)"', line)
            if line.startswith("#[serde") and rename:
                pending_rename = rename.group(1)
            field = re.match(r"pub (\w+): (.+),$", line)
            if field:
                rust_name, rust_type = field.groups()
                json_name = pending_rename or (re.sub(r"_(\w)", lambda m: m.group(1).upper(), rust_name)
                                               if camel else rust_name)
                fields.append((json_name, rust_type))
                pending_rename = None
        structs[name] = fields
    return structs


def schema_properties(definition):
    """The properties of a definition, through allOf and $ref."""
    if "$ref" in definition:
        return schema_properties(SCHEMA[definition["$ref"].split("/")[-1]])
    properties = dict(definition.get("properties", {}))
    for part in definition.get("allOf", []):
        properties.update(schema_properties(part))
    return properties


def mirrored_definitions(name):
    if name in SHARED:
        return [SCHEMA[d] for d in SHARED[name]]
    if name in SHARED_BODIES:
        return [schema_properties(SCHEMA[d])["body"] for d in SHARED_BODIES[name]]
    if name.endswith("EventBody"):
        return [schema_properties(SCHEMA[name[:-len("Body")]])["body"]]
    if name.endswith("Body"):
        return [schema_properties(SCHEMA[name[:-len("Body")] + "Response"])["body"]]
    return [SCHEMA[name]]


def json_types(schema_type):
    if "$ref" in schema_type:
        target = SCHEMA[schema_type["$ref"].split("/")[-1]]
        return json_types(target) if "type" in target or "$ref" in target else {"object"}
    declared = schema_type.get("type", ["object", "string", "integer", "number", "boolean", "array", "null"])
    return set(declared if isinstance(declared, list) else [declared])


def rust_json_type(rust_type):
    inner = re.fullmatch(r"Option<(.+)>", rust_type)
    if inner:
        return rust_json_type(inner.group(1))
    if rust_type in ("String", "&'static str", "Arc<str>"):
        return "string"
    if rust_type in INTEGER:
        return "integer"
    if rust_type == "f64":
        return "number"
    if rust_type == "bool":
        return "boolean"
    if rust_type.startswith("Vec<"):
        return "array"
    if rust_type in ("Value", "serde_json::Value"):
        return None  # any JSON
    return "object"


def test_every_struct_mirrors_its_schema_definition():
    structs = rust_structs()
    assert len(structs) > 50, "the walk found the structs"
    problems, checked = [], 0
    for name, fields in structs.items():
        if name in OWN:
            continue
        definitions = mirrored_definitions(name)
        properties = {}
        for definition in definitions:
            properties.update(schema_properties(definition))
        for json_name, rust_type in fields:
            checked += 1
            if json_name not in properties:
                problems.append(f"{name}.{json_name}: not in the schema's {name}")
                continue
            expected = json_types(properties[json_name])
            actual = rust_json_type(rust_type)
            compatible = actual is None or actual in expected or (actual == "integer" and "number" in expected)
            if not compatible:
                problems.append(f"{name}.{json_name}: {rust_type} is {actual}, the schema says {sorted(expected)}")
    assert checked > 150
    assert not problems, "\n".join(problems)
