"""Alembic: upgrade from empty, downgrade to empty, and models that match the migrations."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from kehu.models import metadata
from kehu.store import current_revision, make_engine
from kehu.store.migrate import alembic_config


def test_upgrade_from_empty_reaches_head_with_every_table(engine):
    assert current_revision(engine) is not None
    tables = set(inspect(engine).get_table_names())

    assert set(metadata.tables) <= tables


def _created_on(dialect: str):
    """Leave out model indexes whose DDL is for another dialect (``Index(...).ddl_if``)."""

    def include_object(obj, name, type_, reflected, compare_to):
        ddl_if = getattr(obj, "_ddl_if", None)
        return ddl_if is None or ddl_if.dialect in (None, dialect)

    return include_object


def test_models_and_migrations_agree(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_object": _created_on(engine.dialect.name)},
        )
        diff = compare_metadata(context, metadata)

    assert diff == []


def test_downgrade_to_empty_and_back(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    command.upgrade(config, "head")
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
