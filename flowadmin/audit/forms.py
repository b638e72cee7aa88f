"""The audit log's filters, shared by the page, the exports and the JSON API."""

import datetime as dt

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from flowadmin import widgets
from flowadmin.audit.models import AuditAction, AuditOutcome
from flowadmin.audit.selectors import MAX_SEQ, AuditFilters
from flowadmin.catalog.selectors import ID_PREFIX_MIN

BAD_MOMENT = "Enter an ISO date (2025-01-31) or date and time (2025-01-31T14:30), not “%(value)s”."
SINCE_AFTER_UNTIL = "“Since” must be earlier than “until”."
UNKNOWN_ACTION = "Unknown action “%(value)s”."
UNKNOWN_OUTCOME = "Unknown outcome “%(value)s”: use success, failure or unknown."
BAD_CURSOR = "The page cursor must be a positive whole number."
TWO_CURSORS = "Give either “before” or “after”, not both."
BAD_NUMBER = "Enter a positive whole number."
SHORT_ID = "Enter the whole id or its first {length} characters or more, not “%(value)s”."


class MomentField(forms.Field):
    """An ISO date or datetime, as a timezone-aware bound of an interval.

    `end=False` (since): a date means the start of that day. `end=True` (until): the bound is
    exclusive, so a date includes its whole day and a datetime includes that very instant.
    """

    max_length = 40

    def __init__(self, *, end: bool, **kwargs):
        self.end = end
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "maxlength": str(self.max_length)}

    def to_python(self, value) -> dt.datetime | None:
        text = (value or "").strip()
        if not text:
            return None
        moment = day = None
        if len(text) <= self.max_length:
            try:
                day = parse_date(text)  # first: parse_datetime also takes a bare date, as midnight
                moment = None if day else parse_datetime(text)
            except ValueError:
                moment = day = None
        if moment is None and day is None:
            raise forms.ValidationError(BAD_MOMENT, code="invalid", params={"value": text[: self.max_length]})
        try:
            if day is not None:
                moment = dt.datetime.combine(day + dt.timedelta(days=1) if self.end else day, dt.time())
            elif self.end:
                moment += dt.timedelta(microseconds=1)
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            moment.astimezone(dt.UTC)
        except (OverflowError, ValueError) as error:
            raise forms.ValidationError(BAD_MOMENT, code="invalid", params={"value": text}) from error
        return moment


def _text(label: str, *, max_length: int = 255, placeholder: str = "", input_type: str = "text") -> forms.CharField:
    widget = widgets.TextInput(attrs={"placeholder": placeholder, "autocomplete": "off", "spellcheck": "false"})
    widget.input_type = input_type
    return forms.CharField(label=label, required=False, max_length=max_length, strip=True, widget=widget)


class AuditFilterForm(forms.Form):
    q = _text("Search", max_length=200, placeholder="text, id, user…", input_type="search")
    sandbox = _text("Sandbox", placeholder="prod")
    spec_id = _text("Flow spec id", placeholder="e77fde5a…")
    actor = _text("Actor", max_length=150, placeholder="username or name")
    action = forms.ChoiceField(
        label="Action",
        required=False,
        choices=[("", "any action"), *AuditAction.choices],
        widget=widgets.Select,
        error_messages={"invalid_choice": UNKNOWN_ACTION},
    )
    outcome = forms.ChoiceField(
        label="Outcome",
        required=False,
        choices=[("", "any outcome"), *AuditOutcome.choices],
        widget=widgets.Select,
        error_messages={"invalid_choice": UNKNOWN_OUTCOME},
    )
    since = MomentField(label="Since", end=False, widget=widgets.TextInput(attrs={"placeholder": "2025-01-31"}))
    until = MomentField(label="Until", end=True, widget=widgets.TextInput(attrs={"placeholder": "2025-12-31T18:00"}))
    change_request_id = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_SEQ,
        widget=forms.HiddenInput,
        error_messages={"invalid": BAD_NUMBER, "min_value": BAD_NUMBER, "max_value": BAD_NUMBER},
    )
    before = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_SEQ,
        widget=forms.HiddenInput,
        error_messages={"invalid": BAD_CURSOR, "min_value": BAD_CURSOR, "max_value": BAD_CURSOR},
    )
    after = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_SEQ,
        widget=forms.HiddenInput,
        error_messages={"invalid": BAD_CURSOR, "min_value": BAD_CURSOR, "max_value": BAD_CURSOR},
    )

    # The fields typed into: each asks for the results itself while one types (header X-Live-Filter).
    TYPED = ("q", "sandbox", "spec_id", "actor", "since", "until")

    def __init__(self, *args, live_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if live_url:
            for name in self.TYPED:
                self.fields[name].widget.attrs.update(
                    {
                        "hx-get": live_url,
                        "hx-trigger": "input changed delay:400ms",
                        "hx-include": "closest form",
                        "hx-headers": '{"X-Live-Filter": "1"}',
                        "hx-target": "#audit-results",
                        "hx-swap": "outerHTML",
                        "hx-push-url": "true",
                        "hx-sync": "closest form:queue last",
                    }
                )

    def clean_spec_id(self) -> str:
        value = self.cleaned_data["spec_id"]
        if value and len(value.rstrip("…")) < ID_PREFIX_MIN:
            raise forms.ValidationError(SHORT_ID.format(length=ID_PREFIX_MIN), code="short", params={"value": value})
        return value

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error("until", SINCE_AFTER_UNTIL)
        if data.get("before") and data.get("after"):
            self.add_error(None, TWO_CURSORS)
        return data

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            sandbox=data["sandbox"],
            spec_id=data["spec_id"],
            actor=data["actor"],
            action=data["action"],
            outcome=data["outcome"],
            since=data["since"],
            until=data["until"],
            q=data["q"],
            change_request_id=data["change_request_id"],
        )

    def error_list(self) -> list[str]:
        """Every error as one readable line, field label first."""
        lines = [str(error) for error in self.non_field_errors()]
        for name, errors in self.errors.items():
            if name != NON_FIELD_ERRORS:
                label = self.fields[name].label or name
                lines.extend(f"{label}: {error}" for error in errors)
        return lines
