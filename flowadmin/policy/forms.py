"""The form that declares a freeze; the rules live in `freezes`."""

from __future__ import annotations

from django import forms

from flowadmin.catalog.models import Sandbox

WIDGET_FORMAT = "%Y-%m-%dT%H:%M"


class FreezeForm(forms.Form):
    starts_at = forms.DateTimeField(
        label="Starts (UTC)",
        input_formats=[WIDGET_FORMAT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=WIDGET_FORMAT),
    )
    ends_at = forms.DateTimeField(
        label="Ends (UTC)",
        input_formats=[WIDGET_FORMAT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=WIDGET_FORMAT),
    )
    tiers = forms.MultipleChoiceField(
        label="Tiers", choices=Sandbox.Tier.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    sandboxes = forms.MultipleChoiceField(
        label="Sandboxes", required=False, widget=forms.SelectMultiple(attrs={"size": 6})
    )
    reason = forms.CharField(label="Reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = Sandbox.objects.filter(state="active").order_by("name").values_list("name", "title")
        self.fields["sandboxes"].choices = [(name, f"{title or name} ({name})") for name, title in names]
