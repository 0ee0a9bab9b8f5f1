"""PostgreSQL: tell the planner that index keys are nearly unique, whatever ANALYZE sampled.

A look-up matches ~3,200 probe keys with ``key = ANY(...)``. When the statistics come from a
small early sample (a library filled by ``dedup_scan``, a fresh install), ANALYZE may store an
absolute number of distinct keys (a few thousand); as the table grows the planner then expects
half the table to match and scans all of it: a 10k-image scan slowed from 112 to 25 images/s.
Keys are random 24-bit segment values, so distinct values stay a large fraction of the rows
(~97 % at 100k images, ~77 % at 1M); a fixed ``n_distinct = -0.8`` keeps the index scan. Other
databases need nothing.
"""

from django.db import migrations


def _key_table(apps, schema_editor) -> str:
    model = apps.get_model("imagex_dedup", "ImageFingerprintKey")
    return schema_editor.quote_name(model._meta.db_table)


def set_key_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = _key_table(apps, schema_editor)
    schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN key SET (n_distinct = -0.8)")
    schema_editor.execute(f"ANALYZE {table}")


def reset_key_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = _key_table(apps, schema_editor)
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN key RESET (n_distinct)")


class Migration(migrations.Migration):
    dependencies = [("imagex_dedup", "0002_fingerprint_checked_at")]

    operations = [migrations.RunPython(set_key_statistics, reset_key_statistics)]
