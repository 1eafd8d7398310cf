"""Domain records: ``quick_init`` keeps what ``dataclass`` promises, only faster."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage import model
from triage.model import quick_init
from triage.store import identity

QUICK = [model.Reason, model.Tool, model.Location, model.Provenance, model.Finding,
         model.Exposure, model.ScoredFinding, identity.Candidate, identity.Link]


def _plain(cls: type) -> type:
    """The same record with the ``__init__`` that ``dataclass`` writes."""
    ns = {f.name: f for f in dataclasses.fields(cls)}
    plain = type(cls.__name__, (), {"__annotations__": {f.name: Any for f in ns.values()},
                                    **{n: f.default for n, f in ns.items()
                                       if f.default is not dataclasses.MISSING}})
    return dataclasses.dataclass(frozen=True, slots=True)(plain)


@pytest.mark.parametrize("cls", QUICK, ids=lambda c: c.__name__)
def test_the_quick_init_takes_the_parameters_dataclass_gives(cls: type) -> None:
    ours = inspect.signature(cls).parameters
    theirs = inspect.signature(_plain(cls)).parameters
    assert [(p.name, p.default, p.kind) for p in ours.values()] == [
        (p.name, p.default, p.kind) for p in theirs.values()]


@pytest.mark.parametrize("cls", QUICK, ids=lambda c: c.__name__)
@given(data=st.data())
def test_a_quick_record_holds_what_it_was_given_and_stays_frozen(cls: type, data: Any) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    values = data.draw(st.lists(st.integers() | st.text(max_size=5) | st.none(),
                                min_size=len(names), max_size=len(names)))
    given_by_position = cls(*values)
    given_by_name = cls(**dict(zip(names, values, strict=True)))
    assert dataclasses.astuple(given_by_position) == tuple(values)
    assert given_by_position == given_by_name
    assert hash(given_by_position) == hash(given_by_name)
    assert pickle.loads(pickle.dumps(given_by_position)) == given_by_position
    assert dataclasses.replace(given_by_position, **{names[0]: "other"}) != given_by_position \
        or values[0] == "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(given_by_position, names[0], "changed")


def test_defaults_apply_as_dataclass_applies_them() -> None:
    assert model.Location("a.py") == model.Location("a.py", None, None, None, "", "")
    with pytest.raises(TypeError):
        model.Location()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        model.Location("a.py", nowhere=1)  # type: ignore[call-arg]


def test_a_field_quick_init_cannot_copy_is_refused() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Listed:
        items: list[int] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="plain fields only"):
        quick_init(Listed)
