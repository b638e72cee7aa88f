"""The approval tier of each sandbox, overridable in the Django admin (the rest of a sandbox comes from syncs)."""

from django.contrib import admin

from flowadmin.catalog.models import Sandbox


@admin.register(Sandbox)
class SandboxTierAdmin(admin.ModelAdmin):
    list_display = ("name", "title", "type", "tier_override", "state")
    list_filter = ("type", "tier_override", "state")
    search_fields = ("=name", "title")
    fields = ("name", "title", "type", "state", "tier_override")
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return ("name", "title", "type", "state")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
