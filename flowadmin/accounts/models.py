from django.db import models


class Role(models.Model):
    """Holds flowadmin's custom permissions; no table of its own."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("propose_change", "Can propose changes to flow specs"),
            ("approve_change", "Can approve or reject change requests"),
            ("view_audit", "Can query and export the audit log"),
        ]

    def __str__(self) -> str:
        return "flowadmin role permissions"
