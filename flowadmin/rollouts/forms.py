"""Forms parse what people post; the rules themselves live in `plan` and `services`."""

from __future__ import annotations

from django import forms

from flowadmin.catalog.models import FlowSpec
from flowadmin.changes.forms import RawTextField
from flowadmin.changes.ids import IdList
from flowadmin.rollouts.plan import ids_parse

REASON_REQUIRED = "Say why this rollout is needed: the approvers read this."
COMMENT_REQUIRED = "Say why you reject it: the author reads this."
NO_IDS = "Give at least one connection spec id to add or to remove."
NO_SANDBOX = "Tick at least one sandbox to roll out to."
ADDED_AND_REMOVED = "{id} is both added and removed: keep it in one list only."
IDS_HELP = "One connection spec id a line. Case and surrounding spaces do not matter; blank lines are ignored."
MAX_POSITION = 99


def _ids_widget():
    return forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off", "wrap": "off"})


class RolloutForm(forms.Form):
    """The new-rollout form, bound alike by the page, the live preview and the submit.

    Besides the fields below it has, per candidate sandbox, ``include_<sandbox>`` (a checkbox) and
    ``position_<sandbox>`` (its place in the order; ties keep the default order).
    """

    spec_id = forms.CharField(widget=forms.HiddenInput, max_length=64)
    source_change_request = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    add_ids = RawTextField(label="Connection spec ids to add", required=False, help_text=IDS_HELP, widget=_ids_widget())
    remove_ids = RawTextField(label="Connection spec ids to remove", required=False, widget=_ids_widget())
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        error_messages={"required": REASON_REQUIRED},
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    acknowledge_impact = forms.BooleanField(
        label="I have checked the dataflows each sandbox's removal affects (listed in the preview)",
        required=False,
        help_text="Needed when enabled dataflows use an id to remove; such a step needs one more approval.",
    )

    def __init__(self, *args, candidates: list[FlowSpec], **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = candidates
        for index, spec in enumerate(candidates, start=1):
            name = spec.sandbox.name
            self.fields[f"include_{name}"] = forms.BooleanField(label=f"Roll out to {name}", required=False)
            self.fields[f"position_{name}"] = forms.IntegerField(
                label=f"Place of {name} in the order",
                min_value=1,
                max_value=MAX_POSITION,
                initial=index,
                required=False,
                widget=forms.NumberInput(attrs={"class": "position", "min": 1, "max": MAX_POSITION}),
            )
        self._parsed: dict[str, IdList] = {}

    # --- what was typed, whether valid or not (what the preview shows) --------------------------
    def _text(self, name: str) -> str:
        if self.is_bound:
            return self.data.get(self.add_prefix(name), "") or ""
        return self.initial.get(name, "") or ""

    def parsed(self, name: str) -> IdList:
        if name not in self._parsed:
            self._parsed[name] = ids_parse(self._text(name))
        return self._parsed[name]

    @property
    def added(self) -> list[str]:
        return list(self.parsed("add_ids").ids)

    @property
    def id_problems(self) -> list[tuple[str, list[str]]]:
        """(field label, its lines' problems) for each id list that has some: what the live plan shows."""
        return [
            (self.fields[name].label, self.parsed(name).problems)
            for name in ("add_ids", "remove_ids")
            if self.parsed(name).problems
        ]

    @property
    def order_problems(self) -> list[str]:
        """A ticked sandbox's place that is not a number from 1 up: said, not silently replaced."""
        problems = []
        for spec in self.candidates:
            name = spec.sandbox.name
            field, key = self.fields[f"position_{name}"], f"position_{name}"
            if not self.is_bound or not self._value(f"include_{name}"):
                continue
            try:
                field.clean(field.widget.value_from_datadict(self.data, self.files, self.add_prefix(key)))
            except forms.ValidationError as error:
                problems.append(f"{field.label}: {' '.join(error.messages)} Its default place is used until then.")
        return problems

    @property
    def removed(self) -> list[str]:
        added = set(self.parsed("add_ids").ids)
        return [spec_id for spec_id in self.parsed("remove_ids").ids if spec_id not in added]

    def _value(self, name: str):
        field = self.fields[name]
        if self.is_bound:
            raw = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            try:
                return field.clean(raw)
            except forms.ValidationError:
                return None
        return self.initial.get(name, field.initial)

    def chosen(self) -> list[FlowSpec]:
        """The ticked sandboxes' flow specs in the order asked for (default order on ties or bad numbers)."""
        picked = []
        for index, spec in enumerate(self.candidates, start=1):
            name = spec.sandbox.name
            if self._value(f"include_{name}"):
                position = self._value(f"position_{name}")
                picked.append((position if isinstance(position, int) else index, index, spec))
        return [spec for _position, _index, spec in sorted(picked, key=lambda item: item[:2])]

    @property
    def rows(self) -> list[dict]:
        """What the sandbox table shows: each candidate with its two fields."""
        return [
            {
                "spec": spec,
                "sandbox": spec.sandbox,
                "include": self[f"include_{spec.sandbox.name}"],
                "position": self[f"position_{spec.sandbox.name}"],
            }
            for spec in self.candidates
        ]

    # --- validation -------------------------------------------------------------------------------
    def clean_add_ids(self):
        for problem in self.parsed("add_ids").problems:
            self.add_error("add_ids", problem)
        return self.added

    def clean_remove_ids(self):
        for problem in self.parsed("remove_ids").problems:
            self.add_error("remove_ids", problem)
        return self.removed

    def clean(self):
        data = super().clean()
        removed = set(self.parsed("remove_ids").ids)
        for spec_id in self.added:
            if spec_id in removed:
                self.add_error("remove_ids", ADDED_AND_REMOVED.format(id=spec_id))
        if not self.parsed("add_ids").ids and not self.parsed("remove_ids").ids:
            self.add_error(None, NO_IDS)
        if not self.chosen():
            self.add_error(None, NO_SANDBOX)
        return data


class RejectForm(forms.Form):
    comment = forms.CharField(
        label="Comment",
        max_length=2000,
        error_messages={"required": COMMENT_REQUIRED},
        widget=forms.Textarea(attrs={"rows": 3}),
    )
