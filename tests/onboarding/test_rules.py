"""Each rule of specs/onboarding_rules.json, and the ranking they make: pure functions, no database."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from flowadmin.onboarding.rules import Candidate, Sibling, Source, rank, rule_book, rule_book_parse, rule_match

STREAMING = "521eee4d-8cbe-4906-bb48-fb6bd4450033"
BATCH = "0ed90a81-07f4-4586-8190-b40eccef1c5a"
CLICKSTREAM = Source(
    spec_id="11111111-0000-4000-8000-000000000001",
    name="Acme Clickstream",
    provider_id=STREAMING,
    category="Analytics",
    frequency="streaming",
)
PENDO = Sibling(
    spec_id="835de825-ec64-43d1-8803-de122f2d3608", name="Pendo", provider_id=STREAMING, category="Analytics"
)
MIXPANEL = Sibling(
    spec_id="cbdf0d77-17f5-4a33-937d-cd0a889678a3", name="Mixpanel", provider_id=STREAMING, category="Analytics"
)
BRAZE = Sibling(
    spec_id="5decd67e-e6e1-475b-87bf-293fc3d28e1c", name="Braze", provider_id=STREAMING, category="Marketing"
)
S3 = Sibling(
    spec_id="ecadc60c-7455-4d87-84dc-2a0e293d997b", name="Amazon S3", provider_id=BATCH, category="Cloud Storage"
)
GENERIC = Candidate(
    spec_id="e77fde5a-22a8-11ed-861d-0242ac120002",
    name="GenericStreamingAEP",
    provider_id=STREAMING,
    frequency="streaming",
    siblings=(BRAZE, PENDO, MIXPANEL),
)
HTTP_ONLY = Candidate(
    spec_id="d8a6f005-7eaf-4153-983e-e8574508b877",
    name="Streaming without transformation",
    provider_id=STREAMING,
    frequency="streaming",
)
CLOUD = Candidate(
    spec_id="9753525b-82c7-4dce-8a9b-5ccfce2b9876",
    name="CloudStorageToAEP",
    provider_id=BATCH,
    frequency="batch",
    siblings=(S3,),
)


def rule(rule_id):
    return next(r for r in rule_book().rules if r.id == rule_id)


def test_same_frequency_holds_for_a_streaming_source_and_a_streaming_flow_spec():
    match = rule_match(rule("same-frequency"), CLICKSTREAM, GENERIC)
    assert match.points > 0 and "streaming" in match.reason
    assert rule_match(rule("same-frequency"), CLICKSTREAM, CLOUD) is None


def test_other_frequency_keeps_a_streaming_source_away_from_a_batch_flow_spec():
    match = rule_match(rule("other-frequency"), CLICKSTREAM, CLOUD)
    assert match.points < 0
    assert match.reason == "the source is streaming, the flow spec batch: it cannot carry it"
    assert rule_match(rule("other-frequency"), CLICKSTREAM, GENERIC) is None
    assert rule_match(rule("other-frequency"), Source(spec_id="x"), CLOUD) is None  # unknown frequency: no verdict


def test_same_provider_names_the_provider():
    match = rule_match(rule("same-provider"), CLICKSTREAM, GENERIC)
    assert match.reason == "same provider as the source (Adobe streaming sources)"
    assert rule_match(rule("same-provider"), CLICKSTREAM, CLOUD) is None


def test_siblings_of_the_same_category_are_counted_and_named():
    match = rule_match(rule("siblings-same-category"), CLICKSTREAM, GENERIC)
    assert match.reason == "already carries 2 Analytics sources: Pendo, Mixpanel"
    assert rule_match(rule("siblings-same-category"), CLICKSTREAM, HTTP_ONLY) is None


def test_siblings_of_the_same_provider_are_counted_and_named():
    match = rule_match(rule("siblings-same-provider"), CLICKSTREAM, GENERIC)
    assert match.reason == "already carries 3 sources of the same provider: Braze, Pendo, Mixpanel"
    assert rule_match(rule("siblings-same-provider"), CLICKSTREAM, CLOUD) is None


def test_a_long_list_of_siblings_is_cut_after_three_names():
    many = tuple(Sibling(spec_id=f"id-{n}", name=f"Source {n}", category="Analytics") for n in range(5))
    match = rule_match(rule("siblings-same-category"), CLICKSTREAM, Candidate(spec_id="f", siblings=many))
    assert match.reason.endswith("Source 0, Source 1, Source 2 and 2 more")


def test_the_source_itself_is_not_its_own_sibling():
    itself = Sibling(spec_id=CLICKSTREAM.spec_id, name="Acme Clickstream", category="Analytics")
    assert rule_match(rule("siblings-same-category"), CLICKSTREAM, Candidate(spec_id="f", siblings=(itself,))) is None


def test_the_ranking_puts_the_flow_spec_with_sibling_sources_first_and_batch_specs_out():
    fits = rank(CLICKSTREAM, [CLOUD, HTTP_ONLY, GENERIC])
    assert [f.candidate.name for f in fits] == [
        "GenericStreamingAEP",
        "Streaming without transformation",
        "CloudStorageToAEP",
    ]
    assert [f.fits for f in fits] == [True, True, False]
    assert fits[0].score == sum(m.points for m in fits[0].matches)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ([], "a list “rules”"),
        ({"rules": [{"test": "nope", "points": 1}]}, "test 'nope'"),
        ({"rules": [{"test": "same_provider", "points": "10"}]}, "whole-number"),
        ({"rules": [], "fits_from": "1"}, "fits_from"),
    ],
)
def test_a_malformed_table_says_what_is_wrong(data, why):
    with pytest.raises(ImproperlyConfigured, match=why):
        rule_book_parse(data)


def test_every_rule_of_the_table_uses_a_known_test_and_has_a_reason():
    book = rule_book()
    assert {r.test for r in book.rules} == {
        "same_frequency",
        "other_frequency",
        "same_provider",
        "siblings_same_category",
        "siblings_same_provider",
    }
    assert all(r.reason for r in book.rules)
