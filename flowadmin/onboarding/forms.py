"""Forms of the "Onboard a source" page: they parse what people send; the rules live in the services."""

from __future__ import annotations

from django import forms

REASON_REQUIRED = "Say why this source is onboarded: the approvers read this."
NO_FLOW_SPEC = "Tick at least one flow spec to add the source to."
NO_SANDBOX = "Tick at least one sandbox."
ID_HELP = "Paste the id the source's connection spec was created with (36 characters). Case and spaces do not matter."


class SourceForm(forms.Form):
    """Which connection spec, looked up in which sandbox (a GET form: typed, pasted or picked)."""

    sandbox = forms.ChoiceField(label="Sandbox")
    connection_spec_id = forms.CharField(
        label="Connection spec id",
        max_length=200,
        required=False,
        help_text=ID_HELP,
        widget=forms.TextInput(attrs={"size": 40, "autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, sandboxes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sandbox"].choices = [(name, name) for name in sandboxes]

    def value(self, name: str) -> str:
        """What was sent (or the initial value), valid or not."""
        if self.is_bound:
            return str(self.data.get(name, "") or "")
        return str(self.initial.get(name, "") or "")


class OnboardForm(forms.Form):
    """The submission: the flow specs and sandboxes ticked, and the reason."""

    connection_spec_id = forms.CharField(max_length=200, widget=forms.HiddenInput)
    sandbox = forms.CharField(max_length=255, widget=forms.HiddenInput)  # where the source was looked up
    flow_specs = forms.MultipleChoiceField(
        label="Flow specs", error_messages={"required": NO_FLOW_SPEC}, widget=forms.CheckboxSelectMultiple
    )
    sandboxes = forms.MultipleChoiceField(
        label="Sandboxes", error_messages={"required": NO_SANDBOX}, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        error_messages={"required": REASON_REQUIRED},
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The same reason goes with every change request and rollout submitted.",
    )

    def __init__(self, *args, flow_specs: list[tuple[str, str]], sandboxes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["flow_specs"].choices = flow_specs
        self.fields["sandboxes"].choices = [(name, name) for name in sandboxes]

    def ticked(self, name: str) -> list[str]:
        """The boxes ticked (or initially ticked), valid or not: the page keeps them."""
        if self.is_bound:
            return self.data.getlist(name) if hasattr(self.data, "getlist") else list(self.data.get(name, []))
        return list(self.initial.get(name, []))
