"""What a step touches, and which two steps can affect each other.

A systematic search (`systematic.py`) need not try both orders of two steps of
different threads that commute: a step that only reads `self.maxsize` and one that
only reads it too, or two steps on two different locks. It must try both orders of
two that may not commute. So each step of a run carries the set of things it
touched, each as `(key, mode)`, and two steps are *dependent* when they touched the
same key, at least one of them writing it.

The keys, from the coarsest guess to the exact one:
- every instruction of the implementation's own code, read from its bytecode: an
  attribute load is a read of that attribute name (`("attr", "_items")`), a store or
  delete a write; a global the same (`("global", name)`). An instruction that works
  on an object on the value stack (a subscript, `in`, a truth test, an in-place
  operator) cannot say which object: it reads or writes `HEAP`, one key for every
  container there is: a comparison or a truth test reads it (`if self._items`), a
  store into a container writes it. Names are not objects (two queues' `_items`
  are one key), so the guess errs towards dependence: it may try orders it need
  not. One way round it is not seen: `getattr`/`setattr` with a name computed at run
  time touch `HEAP`, not the attribute, so a race between one of them and a plain
  attribute access is not ordered by them (it is where a lock, a call or a container
  is between, as in any queue the kit has met).
- a call, by what it calls (`call_touches`, told by sys.monitoring's CALL event or
  by a profile function): a function of the implementation's own touches nothing
  by being called (its instructions say what it does), nor does a managed primitive
  (it says so itself); `len()` and the like read `HEAP`; anything else, a C method
  above all (`self._items.append(x)`), writes it.
- every managed primitive, by the object (`("sync", id)`): a lock taken or let
  go, a condition waited on or notified, an event set or read; a thread started,
  finished or joined (`("task", index)`); the virtual clock read (`CLOCK`, read) or
  moved by a timeout (written).
- the kit's record of the calls (`CALLS`): a call begins (`BEGIN`) and ends
  (`END`). What a history means depends on which calls overlap, that is on the order
  of one call's end and another's begin; two begins commute, and so do two ends.
"""

from __future__ import annotations

import dis

READ, WRITE = "r", "w"
#: A lock taken and let go: writes, and one more fact, that a thread cannot take a
#: lock another one holds, so a release and the next thread's acquire never both
#: could run first (systematic.py looks past the release, to its thread's acquire).
ACQUIRE, RELEASE = "a", "l"
WRITES = frozenset({WRITE, ACQUIRE, RELEASE})
#: A call's begin and end in the kit's history: a call's end is dependent on another
#: call's earlier begin only (systematic.py says why).
BEGIN, END = "b", "e"
HEAP = ("heap",)
CLOCK = ("clock",)
CALLS = ("calls",)


#: Instructions that touch nothing another thread can see: locals, constants, the
#: value stack, jumps on a value already computed, building a new tuple.
_LOCAL = frozenset({
    "NOP", "RESUME", "CACHE", "EXTENDED_ARG", "PUSH_NULL", "POP_TOP", "COPY", "SWAP",
    "DUP_TOP", "DUP_TOP_TWO", "ROT_TWO", "ROT_THREE", "ROT_FOUR", "ROT_N",
    "LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_AND_CLEAR", "LOAD_FAST_LOAD_FAST",
    "STORE_FAST", "STORE_FAST_LOAD_FAST", "STORE_FAST_STORE_FAST", "DELETE_FAST",
    "LOAD_CONST", "RETURN_CONST", "RETURN_VALUE", "LOAD_SMALL_INT",
    "JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "JUMP_ABSOLUTE",
    "JUMP", "JUMP_NO_INTERRUPT", "POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE",
    "POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_FORWARD_IF_NOT_NONE",
    "POP_JUMP_BACKWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE", "IS_OP",
    "SETUP_FINALLY", "SETUP_CLEANUP", "POP_BLOCK", "POP_EXCEPT", "PUSH_EXC_INFO",
    "CHECK_EXC_MATCH", "JUMP_IF_NOT_EXC_MATCH", "RERAISE", "RAISE_VARARGS",
    "LOAD_ASSERTION_ERROR", "BUILD_TUPLE", "BUILD_SLICE", "KW_NAMES", "PRECALL",
    "MAKE_CELL", "COPY_FREE_VARS", "LOAD_CLOSURE", "GEN_START", "END_FOR", "POP_ITER",
    "NOT_TAKEN", "END_SEND", "INTERPRETER_EXIT", "BUILD_STRING", "BUILD_LIST",
    "BUILD_SET", "BUILD_MAP", "BUILD_CONST_KEY_MAP", "LIST_APPEND", "SET_ADD", "MAP_ADD",
    "LIST_TO_TUPLE",
    # a call: what it touches depends on what it calls (call_touches), known only as
    # it runs; a `with`'s enter and exit are a managed primitive's or the
    # implementation's own code
    "CALL", "CALL_KW", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_FUNCTION_EX",
    "CALL_METHOD", "BEFORE_WITH", "SETUP_WITH", "WITH_EXCEPT_START",
})
_ATTR_READ = frozenset({"LOAD_ATTR", "LOAD_METHOD", "LOAD_SUPER_ATTR"})
_ATTR_WRITE = frozenset({"STORE_ATTR", "DELETE_ATTR"})
_GLOBAL_READ = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS"})
_GLOBAL_WRITE = frozenset({"STORE_GLOBAL", "DELETE_GLOBAL", "STORE_NAME", "DELETE_NAME"})
_CELL_READ = frozenset({"LOAD_DEREF", "LOAD_CLASSDEREF", "LOAD_FROM_DICT_OR_DEREF"})
_CELL_WRITE = frozenset({"STORE_DEREF", "DELETE_DEREF"})
#: Instructions that only look at an object on the stack: a comparison, a truth test,
#: a subscript, iteration. Anything else not named here may change one (a call, an
#: in-place operator, a store into a container, a `with`'s enter and exit).
_HEAP_READ = frozenset({
    "COMPARE_OP", "CONTAINS_OP", "TO_BOOL", "UNARY_NOT", "UNARY_NEGATIVE",
    "UNARY_INVERT", "UNARY_POSITIVE", "POP_JUMP_IF_TRUE", "POP_JUMP_IF_FALSE",
    "POP_JUMP_FORWARD_IF_TRUE", "POP_JUMP_FORWARD_IF_FALSE",
    "POP_JUMP_BACKWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_FALSE", "JUMP_IF_TRUE_OR_POP",
    "JUMP_IF_FALSE_OR_POP", "BINARY_SUBSCR", "BINARY_SLICE", "GET_ITER", "FOR_ITER",
    "UNPACK_SEQUENCE", "UNPACK_EX", "GET_LEN", "FORMAT_VALUE", "FORMAT_SIMPLE",
    "FORMAT_WITH_SPEC", "CONVERT_VALUE", "LIST_EXTEND", "SET_UPDATE", "DICT_UPDATE",
    "DICT_MERGE",
    "BINARY_POWER", "BINARY_MULTIPLY", "BINARY_MATRIX_MULTIPLY", "BINARY_FLOOR_DIVIDE",
    "BINARY_TRUE_DIVIDE", "BINARY_MODULO", "BINARY_ADD", "BINARY_SUBTRACT",
    "BINARY_LSHIFT", "BINARY_RSHIFT", "BINARY_AND", "BINARY_XOR", "BINARY_OR",
})
#: Built-in functions that only look at their arguments.
_READS_ONLY = frozenset({
    "len", "bool", "list", "tuple", "sorted", "min", "max", "sum", "any", "all", "iter",
    "isinstance", "issubclass", "id", "type", "repr", "str", "int", "float", "hash",
    "enumerate", "range", "zip", "reversed", "abs", "round", "format", "callable",
    "getattr", "hasattr",
})
_PRIMITIVES = "prodcon.controlled.primitives"
_NOTHING: tuple = ()
_READS_HEAP = ((HEAP, READ),)
_WRITES_HEAP = ((HEAP, WRITE),)


def call_touches(function, files) -> tuple:
    """What calling `function` from the implementation's code touches by itself."""
    inner = getattr(function, "__func__", function)  # a bound method's function
    code = getattr(inner, "__code__", None)
    module = getattr(inner, "__module__", None) or ""
    if code is not None:
        return python_call_touches(code, module, files)
    if module.startswith(_PRIMITIVES):
        return _NOTHING
    owner = getattr(function, "__self__", None)
    if owner is not None and type(owner).__module__.startswith(_PRIMITIVES):
        return _NOTHING
    if module == "builtins" and getattr(function, "__name__", "") in _READS_ONLY:
        return _READS_HEAP
    return _WRITES_HEAP


def python_call_touches(code, module: str, files) -> tuple:
    """What calling a Python function (its `code`, defined in `module`) touches by
    itself: nothing if it is the implementation's own (its instructions say what it
    does) or a managed primitive (it says so itself); anything, as far as anyone can
    tell, if it is any other code."""
    if code.co_filename in files or module.startswith(_PRIMITIVES):
        return _NOTHING
    return _WRITES_HEAP


#: BINARY_OP's argument from which on it is an in-place operator (`+=`), 3.11+.
_INPLACE_FROM = 13


def access(instruction) -> tuple:
    """What one instruction (a `dis.Instruction`) touches: a tuple of `(key, mode)`."""
    name = instruction.opname
    if name in _LOCAL:
        return ()
    if name in _ATTR_READ:
        return ((("attr", instruction.argval), READ),)
    if name in _ATTR_WRITE:
        return ((("attr", instruction.argval), WRITE),)
    if name in _GLOBAL_READ:
        return ((("global", instruction.argval), READ),)
    if name in _GLOBAL_WRITE:
        return ((("global", instruction.argval), WRITE),)
    if name in _CELL_READ:
        return ((("cell", instruction.argval), READ),)
    if name in _CELL_WRITE:
        return ((("cell", instruction.argval), WRITE),)
    if name == "BINARY_OP" and (instruction.arg or 0) < _INPLACE_FROM:
        return ((HEAP, READ),)
    if name in _HEAP_READ:
        return ((HEAP, READ),)
    return ((HEAP, WRITE),)


#: Tables already read, by id(code), each with its code (kept, so the id stays its own):
#: a plan runs hundreds of schedules on the same code objects. Cleared when it grows
#: past CACHED (a grading session loads many modules), not per entry.
_tables: dict = {}
CACHED = 20_000


def cached(kind, code):
    """`kind(code)` (one of the tables below), read once per code object."""
    key = (kind, id(code))
    known = _tables.get(key)
    if known is None:
        if len(_tables) >= CACHED:
            _tables.clear()
        known = _tables[key] = (code, kind(code))
    return known[1]


def instruction_table(code) -> list:
    """Per code unit of `code` (an offset's half), what its instruction touches: the
    table the opcode switch points read. A cache entry touches nothing."""
    table: list = [()] * (len(code.co_code) // 2)
    for instruction in dis.get_instructions(code):
        table[instruction.offset // 2] = access(instruction)
    return _prefixed(code, table)


def _prefixed(code, table: list) -> list:
    """An EXTENDED_ARG's entry is its instruction's: sys.settrace reports the opcode at
    the prefix (3.11), sys.monitoring at the instruction itself."""
    prefixes = []
    for instruction in dis.get_instructions(code):
        if instruction.opname == "EXTENDED_ARG":
            prefixes.append(instruction.offset // 2)
        elif prefixes:
            for unit in prefixes:
                table[unit] = table[instruction.offset // 2]
            prefixes = []
    return table


#: Instructions that touch nothing shared and still end a step where the "access"
#: granularity switches: a call (what it touches is known only as it runs), and the
#: ways out of a function (back to the caller, where the kit records a call's end).
_SWITCH_ANYWAY = frozenset({
    "CALL", "CALL_KW", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_FUNCTION_EX",
    "CALL_METHOD", "BEFORE_WITH", "SETUP_WITH", "WITH_EXCEPT_START", "RETURN_VALUE",
    "RETURN_CONST", "RAISE_VARARGS", "RERAISE", "YIELD_VALUE", "RETURN_GENERATOR",
})


def switch_table(code) -> list:
    """Per code unit of `code`, whether its instruction is a switch point at the "access"
    granularity: one that touches what another thread may touch (or may, as it runs).

    The others (a local loaded or stored, a constant, a jump) change nothing another
    thread can see, so another thread run just before one of them, or just after it,
    reaches the same states: a switch point there only multiplies schedules."""
    table = [False] * (len(code.co_code) // 2)
    for instruction in dis.get_instructions(code):
        table[instruction.offset // 2] = bool(access(instruction)) or (
            instruction.opname in _SWITCH_ANYWAY)
    return _prefixed(code, table)


def line_table(code) -> dict:
    """Per line of `code`, what its instructions touch together: the table the line
    switch points read (a line runs as one step)."""
    per_offset = instruction_table(code)
    lines: dict = {}
    for start, end, line in code.co_lines():
        if line is None:
            continue
        merged = lines.setdefault(line, set())
        for unit in range(start // 2, end // 2):
            merged.update(per_offset[unit])
    return {line: tuple(found) for line, found in lines.items()}

