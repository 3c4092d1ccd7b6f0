"""The system of record (docs/records.md): the events stream recorded exactly once into SQL
(PostgreSQL, or an embedded SQLite file), the tables built from it, and the queries that
reports and the dashboard history read."""
