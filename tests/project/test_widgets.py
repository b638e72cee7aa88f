"""The widgets rendered in Python give what Django's templates give: same elements, attributes, values."""

from html.parser import HTMLParser

import pytest
from django import forms

from flowadmin import widgets
from flowadmin.audit.forms import AuditFilterForm


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict, str]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs), ""))

    def handle_data(self, data):
        if self.found and data.strip():
            tag, attrs, text = self.found[-1]
            self.found[-1] = (tag, attrs, text + data.strip())


def elements(markup: str) -> list[tuple[str, dict, str]]:
    parser = Elements()
    parser.feed(str(markup))
    return parser.found


def as_django(bound_field) -> str:
    widget = bound_field.field.widget
    plain = {widgets.TextInput: forms.TextInput, widgets.Select: forms.Select}[type(widget)]
    twin = plain(attrs=widget.attrs)
    if isinstance(twin, forms.TextInput):
        twin.input_type = widget.input_type
    else:
        twin.choices = widget.choices
    return bound_field.as_widget(widget=twin)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"q": 'a "quoted" <term> & more', "action": "change.applied", "outcome": "failure", "since": "2025-01-31"},
        {"action": "nope", "until": "not a date", "actor": "ünïcode"},
    ],
    ids=["empty", "filled", "invalid"],
)
def test_the_audit_filters_render_as_django_would(data):
    form = AuditFilterForm(data)
    form.is_valid()
    for field in form.visible_fields():
        assert elements(str(field)) == elements(as_django(field)), field.name
