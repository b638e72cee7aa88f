from django.db import migrations


class Migration(migrations.Migration):
    """The emulator's sandbox model is RemoteSandbox: the catalog's Sandbox is the cache of one."""

    dependencies = [
        ("emulator", "0003_fault_next_link"),
    ]

    operations = [
        migrations.RenameModel(old_name="Sandbox", new_name="RemoteSandbox"),
    ]
