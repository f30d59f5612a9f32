"""The registry: validation at the door, provenance, conflicts, overrides, lookups."""

from __future__ import annotations

import pytest

import gatekit
from gatekit import (
    Domain,
    GatekitError,
    Interval,
    Registry,
    UnknownNameError,
    UsageError,
)
from gatekit.errors import GateValidationError, NameConflictError
from gatekit.registry import LoadError, PluginInfo
from gatekit.registry import validate_gate


class Cube(gatekit.Gate):
    name, arity = "cube", 1
    doc = "cube(x) = x ** 3"

    def forward(self, x):
        return x * x * x

    def backward(self, grad, out, x):
        return (3.0 * grad * x * x,)


class Times(gatekit.Gate):
    """A second gate that wants the "*" operator."""

    name, arity, symbol = "times", 2, "*"
    doc = "times(x, y) = x * y"

    def forward(self, x, y):
        return x * y

    def backward(self, grad, out, x, y):
        return grad * y, grad * x


def cube_with(**attrs):
    """A Cube instance with some attributes replaced (on the instance, as a plugin might)."""
    gate = Cube()
    for key, value in attrs.items():
        setattr(gate, key, value)
    return gate


class TwoArgForward(Cube):
    def forward(self, x, y):  # arity 1, but forward wants two inputs
        return x * y


class ShortBackward(Cube):
    def backward(self, grad, x):  # arity 1 means backward(grad, out, x)
        return (grad,)


class KeywordOnlyForward(Cube):
    def forward(self, x, *, scale):
        return x * scale


class NoBackward(gatekit.Gate):
    name, arity, doc = "no_backward", 1, "no_backward(x) = x"

    def forward(self, x):
        return x


class RaisingName(Cube):
    @property
    def name(self):
        raise RuntimeError("no name today")


INVALID = [
    ("not a gate", "is not a gate (a gate has name, arity, doc, forward and backward"),
    (42, "42 is not a gate"),
    (Cube, "got the class Cube, not an instance (register Cube())"),
    (cube_with(name="Cube"), "name 'Cube' is not a valid gate name"),
    (cube_with(name="2x"), "name '2x' is not a valid gate name"),
    (cube_with(name="a b"), "name 'a b' is not a valid gate name"),
    (cube_with(name=""), "name '' is not a valid gate name"),
    (cube_with(name=None), "name None is not a valid gate name"),
    (RaisingName(), "name is missing"),
    (cube_with(arity=0), "arity 0 is not a positive integer"),
    (cube_with(arity=-1), "arity -1 is not a positive integer"),
    (cube_with(arity=True), "arity True is not a positive integer"),
    (cube_with(arity="1"), "arity '1' is not a positive integer"),
    (cube_with(arity=1.0), "arity 1.0 is not a positive integer"),
    (cube_with(doc=""), "doc is missing"),
    (cube_with(doc="cube(x) = x ** 3\nwhich is x times x times x"), "doc has several lines"),
    (cube_with(grad_doc=3), "grad_doc 3 is not a string"),
    (cube_with(forward=None), "forward is missing (it should be forward(x0))"),
    (cube_with(forward=3), "forward is not callable"),
    (cube_with(backward="d/dx = 3x^2"), "backward is not callable (it should be backward(grad, out, x0))"),
    (NoBackward(), "backward is not implemented (it should be backward(grad, out, x0))"),
    (TwoArgForward(), "forward takes 2 positional argument(s), not 1"),
    (ShortBackward(), "backward takes 2 positional argument(s), not 3"),
    (KeywordOnlyForward(), "forward requires the keyword-only argument 'scale'"),
    (cube_with(arity=2), "forward takes 1 positional argument(s), not 2"),
    (cube_with(symbol="*"), "symbol '*' is not an operator a 1-input gate can bind (valid: -)"),
    (cube_with(symbol="^"), "symbol '^' is not an operator"),
    (cube_with(domain=(Interval(),)), "is not a gatekit.Domain"),
]


@pytest.mark.parametrize(("gate", "fragment"), INVALID)
def test_invalid_gates_are_stopped_at_the_door(registry, gate, fragment):
    with pytest.raises(GateValidationError) as raised:
        registry.add_gate(gate, "my-plugin")
    message = str(raised.value)
    assert fragment in message
    assert message.startswith("plugin 'my-plugin' registered an invalid gate")
    assert raised.value.plugin == "my-plugin"
    assert isinstance(raised.value, GatekitError) and raised.value.exit_code == 1
    assert "cube" not in registry  # nothing half-registered


def test_a_three_input_gate_cannot_bind_an_operator():
    class Fma(gatekit.Gate):
        name, arity, symbol, doc = "fma", 3, "+", "fma(x, y, z) = x * y + z"

        def forward(self, x, y, z):
            return x * y + z

        def backward(self, grad, out, x, y, z):
            return grad * y, grad * x, grad

    assert validate_gate(Fma()) == ["symbol '+' is not an operator a 3-input gate can bind "
                                    "(only 1- and 2-input gates bind operators)"]  # fmt: skip


def test_every_problem_is_listed_at_once():
    problems = validate_gate(cube_with(name="Bad", arity=0, doc=""))
    assert len(problems) == 3
    assert [p.split()[0] for p in problems] == ["name", "arity", "doc"]


def test_valid_gates_pass_validation(registry):
    class Duck:  # no base class: any object with the members is a gate
        name, arity, doc = "duck", 2, "duck(x, y) = x + y"

        def forward(self, *xs):
            return xs[0] + xs[1]

        def backward(self, grad, out, x, y, extra=None):
            return grad, grad

    for gate in (Cube(), Duck(), cube_with(name="soft_plus-2"), cube_with(domain=Domain((Interval(0.1, 3.0),)))):
        assert validate_gate(gate) == []
    registry.add_gate(Duck(), "ducks")
    assert registry.gate("duck").forward(1.0, 2.0) == 3.0
    for name in registry.gate_names():
        assert validate_gate(registry.gate(name)) == []


# -- provenance --------------------------------------------------------------------------


def test_an_entry_records_its_plugin(registry):
    entry = registry.add_gate(Cube(), PluginInfo("cubes", "gatekit-cubes", "2.0"))
    assert entry == registry.entry("gate", "cube")
    assert entry.kind == "gate" and entry.name == "cube" and isinstance(entry.obj, Cube)
    assert entry.plugin == PluginInfo("cubes", "gatekit-cubes", "2.0", builtin=False)
    assert entry.overrides is None
    # a plain string is a plugin with no distribution
    assert Registry().add_gate(Cube(), "loose").plugin == PluginInfo("loose")


def test_builtin_provenance(registry):
    info = registry.entry("gate", "mul").plugin
    assert info.name == "gatekit_gates" and info.distribution == "gatekit"
    assert info.version == gatekit.__version__ and info.builtin
    assert registry.plugin("gatekit_gates") == info
    assert registry.provided_by("gatekit_gates")["gate"] == sorted(registry.gate_names())


# -- conflicts and overrides -------------------------------------------------------------


def test_a_name_registered_twice_names_both_plugins(registry):
    registry.add_gate(Cube(), "first")
    with pytest.raises(NameConflictError) as raised:
        registry.add_gate(Cube(), "second")
    error = raised.value
    assert error.plugin == "second" and error.other == "first"
    assert "'first'" in str(error) and "'second'" in str(error) and "override=True" in str(error)
    assert registry.entry("gate", "cube").plugin.name == "first"


def test_taking_a_builtin_name_names_the_builtin_plugin(registry):
    with pytest.raises(NameConflictError, match="gate 'mul' from plugin 'mine' conflicts with .* 'gatekit_gates'"):
        registry.add_gate(cube_with(name="mul"), "mine")
    assert registry.entry("gate", "mul").plugin.name == "gatekit_gates"


def test_an_override_on_purpose_replaces_and_remembers_whom(registry):
    builtin = registry.gate("mul")

    class MyMul(Times):
        name = "mul"
        doc = "mul(x, y) = x * y (mine)"

    mine = MyMul()
    entry = registry.add_gate(mine, "mine", override=True)
    assert registry.gate("mul") is mine is not builtin
    assert entry.overrides is not None and entry.overrides.name == "gatekit_gates"
    assert registry.operator("*", 2) is mine  # it declares "*" too, so it keeps the operator
    assert registry.gate_names().count("mul") == 1


def test_an_operator_taken_twice_is_a_conflict_unless_overridden(registry):
    with pytest.raises(NameConflictError) as raised:
        registry.add_gate(Times(), "timesplugin")
    assert raised.value.other == "gatekit_gates"
    assert "binds operator '*', already bound by gate 'mul'" in str(raised.value)
    assert "times" not in registry

    registry.add_gate(Times(), "timesplugin", override=True)
    assert registry.operator("*", 2) is registry.gate("times")
    assert registry.gate("mul").name == "mul"  # mul is still there by name


def test_unary_and_binary_minus_are_different_operators(registry):
    assert registry.operator("-", 1) is registry.gate("neg")
    assert registry.operator("-", 2) is registry.gate("sub")
    assert registry.operator("%", 2) is None


# -- lookups ----------------------------------------------------------------------------


def test_an_unknown_name_suggests_the_closest(registry):
    with pytest.raises(UnknownNameError) as raised:
        registry.gate("mull")
    error = raised.value
    assert str(error) == "unknown gate 'mull'; did you mean 'mul'?"
    assert error.suggestions == ["mul"] and error.kind == "gate" and error.name == "mull"
    assert isinstance(error, KeyError) and isinstance(error, UsageError) and error.exit_code == 2


def test_an_unknown_name_with_nothing_close_lists_what_exists(registry):
    with pytest.raises(UnknownNameError) as raised:
        registry.gate("zzzzzz")
    assert str(raised.value).startswith("unknown gate 'zzzzzz'; known gates: abs, add, div")


@pytest.mark.parametrize("call", [lambda r: r.entry("gates", "mul"), lambda r: list(r.iter_entries("gatez")),
                                  lambda r: r.add("gatez", Cube(), "p")])  # fmt: skip
def test_an_unknown_kind_is_a_clear_error(registry, call):
    with pytest.raises(UnknownNameError, match="unknown kind"):
        call(registry)


def test_unhashable_and_non_string_names_are_unknown_not_crashes(registry):
    with pytest.raises(UnknownNameError, match="unknown gate"):
        registry.gate(["mul"])
    with pytest.raises(UnknownNameError, match="unknown gate '3'"):
        registry.gate(3)


def test_listing(registry):
    names = registry.gate_names()
    assert names == sorted(names) and "mul" in registry and "cube" not in registry
    assert [e.name for e in registry.iter_entries("gate")] == names
    registry.add_gate(Cube(), "cubes")
    assert registry.provided_by("cubes") == {"gate": ["cube"], "strategy": []}
    assert registry.provided_by("nobody") == {"gate": [], "strategy": []}
    with pytest.raises(UnknownNameError, match="unknown plugin 'gatekit_gatez'; did you mean 'gatekit_gates'"):
        registry.plugin("gatekit_gatez")


def test_load_errors_are_kept_and_printable():
    registry = Registry()
    error = LoadError("broken", "RuntimeError: boom", "import")
    registry.load_errors.append(error)
    assert registry.load_errors == [error]
    assert str(error) == "plugin 'broken' (import): RuntimeError: boom"
