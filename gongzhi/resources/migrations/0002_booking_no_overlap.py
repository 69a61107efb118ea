"""Active bookings of one space never overlap — enforced by PostgreSQL itself (an exclusion constraint over the
booking's time range, with btree_gist for the space's equality). SQLite has no such constraint: there the booking
service checks inside its write transaction, which SQLite's IMMEDIATE mode serialises."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE resources_booking ADD CONSTRAINT booking_no_overlap
    EXCLUDE USING gist (space_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
    WHERE (status = 'active');
"""
DROP = "ALTER TABLE resources_booking DROP CONSTRAINT IF EXISTS booking_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("resources", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
