"""Forms parse what people post; the rules themselves live in `ids` and `services`."""

from __future__ import annotations

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from flowadmin.changes.ids import IdContext, IdList, ids_check

EMPTY_NEEDS_CONFIRMATION = (
    "The list is empty: the flow spec would serve no source at all. "
    "Tick “Yes, remove every id” to propose exactly that."
)
COMMENT_REQUIRED = "Say why you reject it: the author reads this."
REASON_REQUIRED = "Say why this change is needed: the approver reads this."
IDS_FIELD_HELP = "One connection spec id a line. Case and surrounding spaces do not matter; blank lines are ignored."


class RawTextField(forms.CharField):
    """Keeps the text exactly as typed (no stripping, NUL bytes allowed): each line is judged by `ids_check`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class ChangeRequestForm(forms.Form):
    """The edit form, bound alike by the edit page, the live preview and the submit."""

    source_connection_spec_ids = RawTextField(
        label="Source connection spec ids",
        required=False,
        help_text=IDS_FIELD_HELP,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "autocomplete": "off", "wrap": "off"}),
    )
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        error_messages={"required": REASON_REQUIRED},
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm_empty = forms.BooleanField(label="Yes, remove every id", required=False)
    # "I have checked these N dataflows": shown with the preview when enabled dataflows use a removed id.
    acknowledge_impact = forms.BooleanField(required=False)
    impact_count = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, context: IdContext, **kwargs):
        super().__init__(*args, **kwargs)
        self.context = context
        self._parsed: IdList | None = None

    @property
    def ids_text(self) -> str:
        """The textarea's text: as posted when bound, else the initial value."""
        if self.is_bound:
            return self.data.get(self.add_prefix("source_connection_spec_ids"), "") or ""
        return self.initial.get("source_connection_spec_ids", "") or ""

    @property
    def parsed(self) -> IdList:
        """Every line checked, whether the form is valid or not (what the preview shows)."""
        if self._parsed is None:
            self._parsed = ids_check(self.ids_text, context=self.context)
        return self._parsed

    def clean_source_connection_spec_ids(self) -> IdList:
        for problem in self.parsed.problems:
            self.add_error("source_connection_spec_ids", problem)
        return self.parsed

    def clean(self):
        data = super().clean()
        parsed = self.parsed
        if parsed.ok and not parsed.ids and not data.get("confirm_empty"):
            self.add_error("confirm_empty", EMPTY_NEEDS_CONFIRMATION)
        return data

    @property
    def acknowledged(self) -> int | None:
        """How many dependent dataflows the author said they checked (None: the box is not ticked)."""
        data = getattr(self, "cleaned_data", {})
        return data.get("impact_count") if data.get("acknowledge_impact") else None

    @property
    def acknowledge_ticked(self) -> bool:
        return self.is_bound and self.data.get(self.add_prefix("acknowledge_impact")) in ("on", "true", "1")

    @property
    def needs_empty_confirmation(self) -> bool:
        return self.parsed.ok and not self.parsed.ids


class ChangeRequestRefForm(forms.Form):
    """The request an edit form revises or edits (hidden fields of the edit page)."""

    editing = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    revised_from = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class ApproveForm(forms.Form):
    """An approval: what was reviewed (``digest``, or the remote document's ``remote_hash`` for a
    rebased approval), a comment (required on production tiers: the policy says so), the emergency
    flag during a freeze, and ``confirmed`` once a production approval was confirmed."""

    digest = forms.RegexField(regex=r"^[0-9a-f]{64}$", max_length=64, required=False, widget=forms.HiddenInput)
    remote_hash = forms.RegexField(regex=r"^[0-9a-f]{64}$", max_length=64, required=False, widget=forms.HiddenInput)
    comment = forms.CharField(
        label="Comment",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What you checked. Required for a production sandbox, and as the reason of an emergency approval.",
    )
    emergency = forms.BooleanField(label="Emergency: apply during the freeze", required=False)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class RejectForm(forms.Form):
    comment = forms.CharField(
        label="Comment",
        max_length=2000,
        error_messages={"required": COMMENT_REQUIRED},
        widget=forms.Textarea(attrs={"rows": 3}),
    )
