"""The corpus's Python scripts, written again as host functions (issue 16, item 7).

approvalflow never runs a script from a BPMN file. A host that runs a model drawn elsewhere binds a function of its
own to each script task (``load_process(path, script_tasks={task_id: function})``): the function gets a copy of
the task's data and returns what to add to it. For the SpiffWorkflow corpus, :data:`BY_SCRIPT` holds such a
function for each script whose effect on the task data a function can reproduce exactly, keyed by the script's
text (stripped); :func:`bindings` finds the script tasks of a model and of the files of its folder it calls and
binds those whose script is here.

Left out, so that their models stay refused by name: scripts that delete a key that existed before (a host
function can only add and replace), scripts that call functions of SpiffWorkflow's own test harness
(``custom_function``, ``record``), and scripts that read the wall clock (``datetime.now()``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

HostFunction = Callable[[dict[str, Any]], Mapping[str, Any] | None]
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _set(**values: Any) -> HostFunction:
    """A script that only assigns constants."""

    def run(data: dict[str, Any]) -> Mapping[str, Any]:
        return dict(values)

    return run


def _nothing(data: dict[str, Any]) -> None:
    """A script that only prints: no effect on the data."""
    return None


def _script_test_second(data: dict[str, Any]) -> Mapping[str, Any]:
    testvar = dict(data["testvar"], new="Test")
    return {"testvar": testvar, "sample": [x["y"] for x in data["testvar2"] if x["x"] > 1]}


def _items(data: dict[str, Any]) -> Mapping[str, Any]:
    item = {
        "status": 0,
        "reason": None,
        "alphabet": ["a", "b", "c", "d", "e"],
        "billy_hoel_quote": "I am no longer afraid of becoming lost, because the journey back always reveals "
        "something new, and that is ultimately good for the artist.",
    }
    return {"items": [dict(item) for _ in range(20)], "i": 0}


def _out_item(data: dict[str, Any]) -> Mapping[str, Any]:
    return {"out_item": dict(data["my_item"], my_index=data["i"])}


BY_SCRIPT: dict[str, HostFunction] = {
    "testvar = {'a':1,'b':2}\ntestvar2 = [{'x':1,'y':'a'},\n            {'x':2,'y':'b'},\n"
    "             {'x':3,'y':'c'}]": _set(
        testvar={"a": 1, "b": 2}, testvar2=[{"x": 1, "y": "a"}, {"x": 2, "y": "b"}, {"x": 3, "y": "c"}]
    ),
    "def my_function() :\n   my_fun_var = 1\n\ntestvar['new'] = 'Test'\n"
    "sample = [x['y'] for x in testvar2 if x['x'] > 1]": _script_test_second,
    "timer_called = True": _set(timer_called=True),
    "timer_called = False": _set(timer_called=False),
    "print(pre_var)\nprint(my_var)\nprint(my_other_var)": _nothing,
    "pre_var = 'some string'\nremove_this_var = 'something else'": _set(
        pre_var="some string", remove_this_var="something else"
    ),
    "pre_var = 'some string'\n# There is no variable remove\n# remove_this_var = 'something else'": _set(
        pre_var="some string"
    ),
    "v = 1": _set(v=1),
    "v = 1\nw = 1": _set(v=1, w=1),
    "x = 0": _set(x=0),
    "x += 1": lambda data: {"x": data["x"] + 1},
    "v += 1": lambda data: {"v": data["v"] + 1},
    "u += v": lambda data: {"u": data["u"] + data["v"]},
    "w += v": lambda data: {"w": data["w"] + data["v"]},
    "out_1, out_2, unused = in_1 * 2, in_2.upper(), False": lambda data: {
        "out_1": data["in_1"] * 2,
        "out_2": data["in_2"].upper(),
        "unused": False,
    },
    'in_1, in_2, unused = 1, "hello world", True': _set(in_1=1, in_2="hello world", unused=True),
    'item = {\n      "status": 0,\n      "reason": None,\n      "alphabet": ["a","b","c","d","e"],\n'
    '      "billy_hoel_quote": "I am no longer afraid of becoming lost, because the journey back always reveals '
    'something new, and that is ultimately good for the artist."   \n}\n\nitems = [item]*20\ndel(item)\ni=0': _items,
    "results = items2": lambda data: {"results": data["items2"]},
    'out_item = my_item\nout_item["my_index"] = i': _out_item,
    '#! scripts.FactService\n\ndef some_fun():\n  x = "what fun!"\n  return x;\n\ny = some_fun()': _set(y="what fun!"),
    "# Just need another task in here, to handle deep nesting.\nx=1": _set(x=1),
    "x, y = 1, 2\nz = x + y": _set(x=1, y=2, z=3),
    'a="a"*512': _set(a="a" * 512),
    'b="b"*512': _set(b="b" * 512),
    'c="c"*512': _set(c="c" * 512),
    "d=a+b+c": lambda data: {"d": data["a"] + data["b"] + data["c"]},
    "refill_count = 0": _set(refill_count=0),
    'print(f"Value: {value} / Quantity {quantity}")': _nothing,
    'reason = "Error 1"': _set(reason="Error 1"),
    'reason = "Error None"': _set(reason="Error None"),
    'reason = "Cancel"': _set(reason="Cancel"),
    "script_output='NEW ACTION'": _set(script_output="NEW ACTION"),
    "script_output='ACTION CANCELLED'": _set(script_output="ACTION CANCELLED"),
    "script_output= 'ACTION OVERDUE'": _set(script_output="ACTION OVERDUE"),
    "a = 1": _set(a=1),
}


def _read(path: Path) -> etree._Element | None:
    try:
        return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except (etree.XMLSyntaxError, OSError):
        return None


def _called_files(model: Path) -> list[Path]:
    """``model`` and the files of its folder that it calls, directly or further on (the same file first, then
    the folder's other files in name order, as the loader looks for a called process)."""
    folder = sorted(p for p in model.parent.iterdir() if p.name.endswith((".bpmn", ".bpmn20.xml")))
    roots = {p: _read(p) for p in folder}
    defines = {p: {e.get("id") for e in r.iter(f"{{{BPMN}}}process")} for p, r in roots.items() if r is not None}
    order, todo = [model], [model]
    while todo:
        root = roots.get(todo.pop())
        for el in root.iter(f"{{{BPMN}}}callActivity") if root is not None else ():
            called = el.get("calledElement")
            where = next((p for p in [model, *folder] if called in defines.get(p, ())), None)
            if where is not None and where not in order:
                order.append(where)
                todo.append(where)
    return order


def bindings(model: Path) -> dict[str, HostFunction]:
    """The host function of each script task of ``model`` and of the files it calls whose script is known.

    A task id that two of these files give to different scripts is left unbound (its model stays refused).
    """
    bound: dict[str, HostFunction] = {}
    clashing: set[str] = set()
    for path in _called_files(model):
        root = _read(path)
        for el in root.iter(f"{{{BPMN}}}scriptTask") if root is not None else ():
            ident, fn = el.get("id"), BY_SCRIPT.get((el.findtext(f"{{{BPMN}}}script") or "").strip())
            if ident is None or fn is None:
                continue
            if bound.get(ident, fn) is not fn:
                clashing.add(ident)
            bound[ident] = fn
    return {k: v for k, v in bound.items() if k not in clashing}
