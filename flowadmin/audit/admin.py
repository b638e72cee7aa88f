"""The audit log in the Django admin: read-only for those who may audit, for everyone else absent."""

from django.contrib import admin

from flowadmin.accounts.roles import VIEW_AUDIT
from flowadmin.audit.models import AuditCheckpoint, AuditEvent, AuditVerification


class ReadOnlyAuditAdmin(admin.ModelAdmin):
    """Every field read-only; auditors may look, nobody may add, change or delete."""

    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW_AUDIT) or super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAuditAdmin):
    list_display = ("seq", "at", "actor_username", "action", "outcome", "sandbox", "spec_id", "change_request_id")
    list_filter = ("action", "outcome")
    search_fields = ("=spec_id", "=sandbox", "=actor_username", "=correlation_id")
    show_full_result_count = False


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAuditAdmin):
    list_display = ("number", "last_seq", "at", "key_id", "digest")
    show_full_result_count = False


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAuditAdmin):
    list_display = ("at", "ok", "events_checked", "verified_through", "first_problem_seq", "problem_count", "seconds")
    list_filter = ("ok",)
