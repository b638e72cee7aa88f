"""Single sign-on links in the Django admin: which account belongs to which subject at the provider.

Read-only: links are made by signing in. Deleting one unlinks the account; the subject's next
sign-in then makes a new account (accounts are never matched by name).
"""

from django.contrib import admin

from flowadmin.accounts.models import ExternalIdentity


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    list_display = ("user", "subject", "issuer", "created_at", "last_login_at")
    search_fields = ("=subject", "user__username")
    list_select_related = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
