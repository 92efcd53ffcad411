"""JSON columns: figures that are not numbers are stored as null on both databases."""

import math

from sqlalchemy import select

from kehu.store.engine import dumps_json
from kehu.value import ValueRun
from tests.factories import make_value_run


def test_non_finite_floats_are_stored_as_null(session, actor):
    # An unidentified BG/NBD dropout parameter comes out infinite; PostgreSQL refused the
    # whole run when Python wrote it as the non-JSON token Infinity.
    run = make_value_run(session, actor=actor)
    run.parameters = {"a": math.inf, "b": [-math.inf, 2.5, math.nan], "nested": {"r": 0.25}}
    session.flush()
    session.expire_all()

    stored = session.scalars(select(ValueRun).where(ValueRun.id == run.id)).one()

    assert stored.parameters == {"a": None, "b": [None, 2.5, None], "nested": {"r": 0.25}}


def test_the_serialiser_writes_strict_json():
    assert dumps_json({"x": (1.0, math.nan)}) == '{"x": [1.0, null]}'
