"""The metadata database: schemas are created once and ensured without the write lock afterwards."""

from dockpy.metadata import ensure_schema, open_database

DDL = "CREATE TABLE IF NOT EXISTS things (id INTEGER PRIMARY KEY, name TEXT)"


def test_ensure_schema_creates_the_tables(storage_root):
    connection = open_database(storage_root)
    ensure_schema(connection, "test", DDL)
    assert connection.execute("SELECT count(*) FROM things").fetchone()[0] == 0


def test_ensuring_an_existing_schema_takes_no_write_lock(storage_root):
    ensure_schema(open_database(storage_root), "test", DDL)
    writer = open_database(storage_root)
    writer.execute("BEGIN IMMEDIATE")
    try:
        reader = open_database(storage_root)
        reader.execute("PRAGMA busy_timeout = 0")
        ensure_schema(reader, "test", DDL)  # would raise "database is locked" if it took the write lock
    finally:
        writer.execute("ROLLBACK")


def test_a_table_or_index_added_to_a_schema_later_is_created(storage_root):
    ensure_schema(open_database(storage_root), "test", DDL)
    grown = DDL + "; CREATE INDEX IF NOT EXISTS things_by_name ON things (name)"
    connection = open_database(storage_root)
    ensure_schema(connection, "test", grown)
    names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "things_by_name" in names


def test_a_statement_other_than_create_table_or_index_always_runs(storage_root):
    ensure_schema(open_database(storage_root), "test", DDL)
    view = "CREATE VIEW IF NOT EXISTS named_things AS SELECT name FROM things"
    connection = open_database(storage_root)
    ensure_schema(connection, "test", f"{DDL}; {view}")
    assert connection.execute("SELECT count(*) FROM named_things").fetchone()[0] == 0
