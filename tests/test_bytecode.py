"""Bytecode-level debugging: instruction steps, instruction addresses and disassemble. The
assertions are about structure and positions, never about which opnames a Python version uses."""

import re

from conftest import line_of
from test_stepping import stop_at

CALLS = """
def add(a, b):
    total = a + b  # add body
    return total  # add return

def main():
    result = add(1, 2)  # call add
    print("result", result)  # after call

main()
"""


def split(address):
    """(code number, byte offset) of an instruction address."""
    value = int(address, 16)
    return value >> 32, value & 0xFFFFFFFF


def instruction_step(client, thread, kind="next"):
    client.ok(kind, {"threadId": thread, "granularity": "instruction"})
    stop = client.wait_stopped()
    assert stop["reason"] == "step" and stop["threadId"] == thread, stop
    return client.top_frame(thread)


def test_capabilities_announce_instruction_steps_and_disassembly(sessions):
    client = sessions.launch("x = 1\n")
    capabilities = client.capabilities
    assert capabilities["supportsSteppingGranularity"] is True
    assert capabilities["supportsDisassembleRequest"] is True


def test_next_by_instruction_moves_one_instruction_within_the_line(sessions):
    client, thread = stop_at(sessions, CALLS, "# add body")
    body, ret = line_of(client.path, "# add body"), line_of(client.path, "# add return")
    frame = client.top_frame(thread)
    code, offset = split(frame["instructionPointerReference"])
    offsets = [offset]
    saw_total_unset = False
    while frame["line"] == body:
        saw_total_unset |= "total" not in client.locals_of(frame["id"])
        frame = instruction_step(client, thread)
        assert frame["name"] == "add"
        step_code, step_offset = split(frame["instructionPointerReference"])
        assert step_code == code, "an instruction step stays in the code it started in"
        assert step_offset > offsets[-1], "each step moves forward by one instruction"
        offsets.append(step_offset)
        assert len(offsets) < 12, offsets
    assert saw_total_unset, "stops came between the line's instructions, before its store"
    assert len(offsets) >= 3, f"a + b and its store are several instructions: {offsets}"
    assert frame["line"] == ret
    assert client.locals_of(frame["id"])["total"]["value"] == "3"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_next_by_instruction_steps_over_calls_and_returns_to_the_caller(sessions):
    client, thread = stop_at(sessions, CALLS, "# call add")
    call, after = line_of(client.path, "# call add"), line_of(client.path, "# after call")
    frame = client.top_frame(thread)
    while frame["line"] == call:
        frame = instruction_step(client, thread)
        assert frame["name"] == "main", "next by instruction never enters add"
    assert frame["line"] == after
    assert client.locals_of(frame["id"])["result"]["value"] == "3"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_step_in_by_instruction_enters_the_call_and_out_of_its_return(sessions):
    client, thread = stop_at(sessions, CALLS, "# call add")
    call, body = line_of(client.path, "# call add"), line_of(client.path, "# add body")
    main_code, _ = split(client.top_frame(thread)["instructionPointerReference"])
    for _ in range(20):
        frame = instruction_step(client, thread, "stepIn")
        if frame["name"] != "main":
            break
        assert frame["line"] == call
    assert (frame["name"], frame["line"]) == ("add", body)
    # By instruction to add's last one; the next one is main's, just after the call.
    ret = line_of(client.path, "# add return")
    while frame["name"] == "add":
        last_in_add = frame
        frame = instruction_step(client, thread)
    assert last_in_add["line"] == ret
    assert frame["name"] == "main" and frame["line"] == call, "back on the calling line, mid-line"
    code, _ = split(frame["instructionPointerReference"])
    assert code == main_code
    assert "result" not in client.locals_of(frame["id"]), "the assignment has not run yet"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_line_steps_are_unchanged_by_granularity_line(sessions):
    client, thread = stop_at(sessions, CALLS, "# add body")
    ret = line_of(client.path, "# add return")
    client.ok("next", {"threadId": thread, "granularity": "line"})
    client.wait_stopped()
    assert client.top_frame(thread)["line"] == ret
    client.ok("next", {"threadId": thread, "granularity": "statement"})
    client.wait_stopped()
    assert client.top_frame(thread)["name"] == "main"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_disassemble_pages_around_the_instruction_pointer(sessions):
    client, thread = stop_at(sessions, CALLS, "# add body")
    body = line_of(client.path, "# add body")
    frame = client.top_frame(thread)
    pointer = frame["instructionPointerReference"]
    code, offset = split(pointer)
    page = client.ok("disassemble", {"memoryReference": pointer, "instructionOffset": 0,
                                     "instructionCount": 4, "resolveSymbols": True})["instructions"]
    assert len(page) == 4
    assert page[0]["address"] == pointer
    assert page[0]["line"] == body and page[0]["column"] >= 1
    assert page[0]["location"]["path"] == client.path
    assert all(entry["symbol"] == "add" for entry in page)
    assert all(re.match(r"[A-Z_]+( |$)", entry["instruction"]) for entry in page), page
    assert all(re.fullmatch(r"[0-9a-f]{2}( [0-9a-f]{2})*", entry["instructionBytes"]) for entry in page)
    addresses = [split(entry["address"]) for entry in page]
    assert all(c == code for c, _ in addresses)
    assert [o for _, o in addresses] == sorted(o for _, o in addresses) and len(set(addresses)) == 4

    # Backwards past the start: padded with invalid entries, then the code's first instruction.
    before = client.ok("disassemble", {"memoryReference": pointer, "instructionOffset": -6,
                                       "instructionCount": 8})["instructions"]
    assert len(before) == 8
    valid = [entry for entry in before if entry.get("presentationHint") != "invalid"]
    padding = len(before) - len(valid)
    assert padding >= 1
    assert all(entry.get("presentationHint") == "invalid" for entry in before[:padding])
    assert split(valid[0]["address"]) == (code, 0)
    assert pointer in [entry["address"] for entry in valid]
    assert "symbol" not in valid[0], "symbols only when asked for"

    # Past the end: exactly as many entries, all invalid.
    after = client.ok("disassemble", {"memoryReference": pointer, "instructionOffset": 500,
                                      "instructionCount": 3})["instructions"]
    assert [entry["presentationHint"] for entry in after] == ["invalid"] * 3

    # A byte offset moves the base: the instruction holding that byte.
    moved = client.ok("disassemble", {"memoryReference": pointer, "offset": -offset,
                                      "instructionCount": 1})["instructions"]
    assert split(moved[0]["address"]) == (code, 0)
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_callers_point_at_their_call_in_progress(sessions):
    client, thread = stop_at(sessions, CALLS, "# add body")
    frames = client.ok("stackTrace", {"threadId": thread})["stackFrames"]
    caller = frames[1]
    assert caller["name"] == "main"
    entry = client.ok("disassemble", {"memoryReference": caller["instructionPointerReference"],
                                      "instructionCount": 1})["instructions"][0]
    assert entry["line"] == line_of(client.path, "# call add")
    assert entry["instruction"].startswith("CALL"), entry
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_specialised_instructions_are_shown_with_their_base_instruction(sessions):
    source = """
    def mul(a, b):
        product = a * b  # hot
        return product

    for i in range(2000):
        mul(i, 3)
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[{"line": line_of(path, "# hot"), "hitCondition": "2000"}])
    thread = client.wait_stopped()["threadId"]
    pointer = client.top_frame(thread)["instructionPointerReference"]
    texts = [entry["instruction"] for entry in client.ok(
        "disassemble", {"memoryReference": pointer, "instructionCount": 6})["instructions"]]
    specialised = [t for t in texts if "[specialised: " in t]
    assert specialised, texts
    assert all(re.match(r"BINARY_OP\b.*\[specialised: BINARY_OP_\w+\]", t) for t in specialised
               if t.startswith("BINARY_OP")), specialised
    assert not any("INSTRUMENTED" in t for t in texts), "pydbg's own monitoring is not the program's code"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_bad_bytecode_requests_get_clear_errors_and_nothing_moves(sessions):
    client, thread = stop_at(sessions, CALLS, "# add body")
    body = line_of(client.path, "# add body")
    pointer = client.top_frame(thread)["instructionPointerReference"]
    bad = client.request("next", {"threadId": thread, "granularity": "opcode"})
    assert bad["success"] is False and "granularity" in bad["message"]
    assert client.top_frame(thread)["line"] == body
    for reference in ["frame 1", "0x7fffffff00000000", ""]:
        bad = client.request("disassemble", {"memoryReference": reference, "instructionCount": 2})
        assert bad["success"] is False and "not an instruction address" in bad["message"], bad
    bad = client.request("disassemble", {"memoryReference": pointer, "instructionCount": -1})
    assert bad["success"] is False and "instructionCount" in bad["message"]
    bad = client.request("disassemble", {"memoryReference": pointer, "instructionCount": 10 ** 9})
    assert bad["success"] is False and "instructionCount" in bad["message"]
    # Addresses outlive the stop: an editor's disassembly view keeps them.
    client.ok("next", {"threadId": thread})
    client.wait_stopped()
    assert client.ok("disassemble", {"memoryReference": pointer, "instructionCount": 1})["instructions"][0][
        "address"] == pointer
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


LOOP = """
def add(a, b):
    total = a + b  # add body
    return total

def main():
    for i in range(3):
        result = add(i, 2)  # call add
        print("result", result)  # after call

main()
"""


def instruction_after_call(client, thread):
    """The address of the instruction that stores add's result: the one after the CALL."""
    pointer = client.top_frame(thread)["instructionPointerReference"]
    page = client.ok("disassemble", {"memoryReference": pointer, "instructionCount": 12})["instructions"]
    call = next(n for n, entry in enumerate(page) if entry["instruction"].startswith("CALL"))
    return page[call]["address"], page[call + 1]["address"]


def test_instruction_breakpoint_stops_before_its_instruction_every_time(sessions):
    client, thread = stop_at(sessions, LOOP, "# call add")
    _, store = instruction_after_call(client, thread)
    answer = client.ok("setInstructionBreakpoints", {"breakpoints": [{"instructionReference": store}]})
    placed = answer["breakpoints"][0]
    assert placed["verified"] is True and placed["instructionReference"] == store, placed
    seen = []
    for _ in range(3):
        client.ok("continue", {"threadId": thread})
        stop = client.wait_stopped()
        assert stop["reason"] == "instruction breakpoint" and stop["hitBreakpointIds"] == [placed["id"]], stop
        frame = client.top_frame(thread)
        assert frame["instructionPointerReference"] == store
        assert frame["line"] == line_of(client.path, "# call add")
        seen.append(client.locals_of(frame["id"]).get("result", {}).get("value"))
    # Before the store: `result` still holds the previous iteration's value.
    assert seen == [None, "2", "3"], seen
    client.ok("setInstructionBreakpoints", {"breakpoints": []})
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert client.output("stdout").count("result ") == 3


def test_instruction_breakpoint_conditions_and_hit_conditions(sessions):
    client, thread = stop_at(sessions, LOOP, "# call add")
    _, store = instruction_after_call(client, thread)
    client.ok("setInstructionBreakpoints", {"breakpoints": [{"instructionReference": store, "condition": "i == 2"}]})
    client.ok("continue", {"threadId": thread})
    assert client.wait_stopped()["reason"] == "instruction breakpoint"
    frame = client.top_frame(thread)
    assert client.locals_of(frame["id"])["i"]["value"] == "2"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0

    client, thread = stop_at(sessions, LOOP, "# call add")
    _, store = instruction_after_call(client, thread)
    client.ok("setInstructionBreakpoints", {"breakpoints": [{"instructionReference": store, "hitCondition": "2"}]})
    client.ok("continue", {"threadId": thread})
    assert client.wait_stopped()["reason"] == "instruction breakpoint"
    assert client.locals_of(client.top_frame(thread)["id"])["i"]["value"] == "1"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_instruction_breakpoints_that_cannot_be_placed_say_why(sessions):
    client, thread = stop_at(sessions, LOOP, "# call add")
    call, store = instruction_after_call(client, thread)
    answer = client.ok("setInstructionBreakpoints", {"breakpoints": [
        {"instructionReference": call, "offset": 2},  # inside the call's inline cache
        {"instructionReference": "0x7fffffff00000000"},
        {"instructionReference": call, "offset": int(store, 16) - int(call, 16)},  # = store
        {"instructionReference": store, "condition": "i ==="},
    ]})["breakpoints"]
    assert [b["verified"] for b in answer] == [False, False, True, False], answer
    assert "no instruction of main starts at byte offset" in answer[0]["message"]
    assert "not an instruction address" in answer[1]["message"]
    assert answer[2]["instructionReference"] == store
    assert "SyntaxError" in answer[3]["message"] or "invalid syntax" in answer[3]["message"], answer[3]
    assert len({b["id"] for b in answer}) == 4
    client.ok("continue", {"threadId": thread})
    assert client.wait_stopped()["reason"] == "instruction breakpoint"
    client.ok("setInstructionBreakpoints", {"breakpoints": []})
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
