from django.conf import settings
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


class ExternalIdentity(models.Model):
    """Links a user to the identity provider's stable subject (`iss` + `sub` of the ID token).

    Single sign-on finds users by this pair only, never by username or e-mail: a person re-created at
    the provider under the same name gets a new subject, hence a new account.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identity")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="accounts_identity_unique_subject")]
        verbose_name_plural = "external identities"

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
