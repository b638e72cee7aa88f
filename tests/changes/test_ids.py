"""The id list as people type or paste it: one pure function decides every line."""

import pytest

from flowadmin.changes.ids import (
    ATTACHED,
    DUPLICATE,
    NOT_A_UUID,
    NOTE_ATTACHED,
    NOTE_UNKNOWN,
    TOO_MANY,
    UNKNOWN,
    WHY_CHARACTER,
    WHY_WRAPPED,
    AttachedTo,
    IdContext,
    ids_apply,
    ids_check,
    ids_text_with,
    normalise,
)

KEPT = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"
NEW = "bdb5b792-451b-42de-acf8-15f3195821de"
USED = "87d513a3-b4d2-4df7-8ec9-55957c02e0b1"
STRANGER = "00000000-0000-4000-8000-000000000000"
CONTEXT = IdContext(
    sandbox="dev",
    current=(KEPT,),
    names={KEPT: "Braze Currents", NEW: "Acme Events Stream", USED: "Acme Loyalty (REST)"},
    attached={USED: AttachedTo(spec_id="6499120c-0b15-42dc-936e-847ea3c24d72", name="RestStorageToAEP")},
)


def check(text, context=CONTEXT, **kwargs):
    return ids_check(text, context=context, **kwargs)


def test_whitespace_and_case_are_normalised():
    result = check(f"  {KEPT.upper()}  \r\n\t{NEW}\u00a0\n")
    assert result.ok
    assert result.ids == (KEPT, NEW)
    assert result.added == (NEW,)
    assert result.removed == ()


def test_blank_lines_are_ignored_but_counted_in_line_numbers():
    result = check(f"\n\n{KEPT}\n   \nnot-an-id\n")
    assert [line.number for line in result.lines] == [3, 5]
    assert result.problems == [NOT_A_UUID.format(line=5, text="not-an-id", why="")]


@pytest.mark.parametrize(
    "typed",
    [
        "{" + NEW + "}",
        f'"{NEW}"',
        f"'{NEW}',",
        f"{NEW},",
        f"[{NEW}]",
    ],
)
def test_wrapped_ids_are_not_uuids_and_the_message_says_how_to_fix_them(typed):
    result = check(f"{KEPT}\n{typed}")
    assert not result.ok
    assert result.problems == [NOT_A_UUID.format(line=2, text=typed, why=WHY_WRAPPED)]
    assert result.added == ()


@pytest.mark.parametrize(
    ("typed", "char"),
    [
        ("bdb5b792-451b-42de-acf8-15f3195821d\uff45", "U+FF45 FULLWIDTH LATIN SMALL LETTER E"),
        ("bdb5b792-451b-42de-acf8-15f31958\uff121de", "U+FF12 FULLWIDTH DIGIT TWO"),
        ("bdb5b792-451b-42de-\u0430cf8-15f3195821de", "U+0430 CYRILLIC SMALL LETTER A"),
        ("bdb5b792-451b-42de-acf8-15f3195821\u0661e", "U+0661 ARABIC-INDIC DIGIT ONE"),
        ("bdb5b792\u2010451b-42de-acf8-15f3195821de", "U+2010 HYPHEN"),
        ("bdb5b792-451b-42de-acf8-15f3195\x0021de", "U+0000"),
        ("bdb5b792-451b-42de-acf8-15f3195821de\u200b", "U+200B ZERO WIDTH SPACE"),
    ],
)
def test_look_alikes_and_control_characters_are_not_uuids(typed, char):
    result = check(typed)
    assert not result.ok
    [problem] = result.problems
    assert problem.startswith("Line 1: “")
    assert char in problem
    assert "\x00" not in problem  # shown as an escape, never raw


def test_a_nul_byte_is_shown_escaped():
    [problem] = check("abc\x00def").problems
    assert problem == NOT_A_UUID.format(line=1, text="abc\\x00def", why=WHY_CHARACTER.format(char="U+0000"))


def test_html_and_script_are_just_text_that_is_not_a_uuid():
    typed = "<script>alert('x')</script>"
    [problem] = check(typed).problems
    assert problem == NOT_A_UUID.format(line=1, text=typed, why="")


def test_a_duplicate_names_the_first_line():
    result = check(f"{KEPT}\n{NEW}\n\n{NEW.upper()}")
    assert result.problems == [DUPLICATE.format(line=4, id=NEW, first=2)]
    assert result.ids == (KEPT, NEW)


def test_an_added_id_unknown_to_the_sandbox_is_a_problem():
    result = check(f"{KEPT}\n{STRANGER}")
    assert result.problems == [UNKNOWN.format(line=2, id=STRANGER, sandbox="dev")]


def test_an_added_id_used_by_another_flow_spec_names_it():
    result = check(f"{KEPT}\n{USED}")
    assert result.problems == [
        ATTACHED.format(line=2, id=USED, name="RestStorageToAEP", spec_id="6499120c-0b15-42dc-936e-847ea3c24d72")
    ]


def test_ids_already_listed_are_kept_with_a_note_even_when_unknown_or_used_elsewhere():
    context = IdContext(sandbox="dev", current=(STRANGER, USED), names={}, attached=CONTEXT.attached)
    result = check(f"{STRANGER}\n{USED}", context)
    assert result.ok
    assert result.notes == [
        NOTE_UNKNOWN.format(line=1, id=STRANGER, sandbox="dev"),
        NOTE_UNKNOWN.format(line=2, id=USED, sandbox="dev"),
        NOTE_ATTACHED.format(line=2, id=USED, name="RestStorageToAEP", spec_id="6499120c-0b15-42dc-936e-847ea3c24d72"),
    ]


def test_the_new_list_keeps_the_current_order_and_appends_additions_as_typed():
    context = IdContext(sandbox="dev", current=(KEPT, USED), names=CONTEXT.names)
    result = check(f"{NEW}\n{USED}", context)
    assert result.ids == (USED, NEW)
    assert result.added == (NEW,)
    assert result.removed == (KEPT,)


def test_an_empty_text_removes_everything():
    result = check("\n  \n")
    assert result.ok
    assert result.ids == ()
    assert result.removed == (KEPT,)


def test_a_list_at_the_limit_gets_a_message_per_line(settings):
    settings.FLOWADMIN_MAX_IDS = 2000
    lines = [f"line-{number}" for number in range(1, 2001)]
    result = check("\n".join(lines))
    assert len(result.problems) == 2000
    assert result.problems[0] == NOT_A_UUID.format(line=1, text="line-1", why="")
    assert result.problems[-1] == NOT_A_UUID.format(line=2000, text="line-2000", why="")


def test_distinct_unknown_ids_up_to_the_limit_are_reported_per_line(settings):
    settings.FLOWADMIN_MAX_IDS = 2000
    ids = [f"00000000-0000-4000-8000-{number:012d}" for number in range(2000)]
    result = check("\n".join(ids))
    assert len(result.problems) == 2000
    assert result.problems[1999] == UNKNOWN.format(line=2000, id=ids[1999], sandbox="dev")


def test_one_line_over_the_limit_refuses_the_list_as_a_whole_and_judges_no_line(settings):
    settings.FLOWADMIN_MAX_IDS = 2000
    ids = [f"00000000-0000-4000-8000-{number:012d}" for number in range(2001)]
    result = check("\n".join(ids))
    assert result.problems == [TOO_MANY.format(count=2001, limit=2000)]
    assert "2,001 lines" in result.problems[0] and "at most 2,000" in result.problems[0]
    assert result.ids == () and result.added == () and result.removed == ()
    assert not result.ok


def test_blank_lines_do_not_count_towards_the_limit():
    ids = [f"00000000-0000-4000-8000-{number:012d}" for number in range(3)]
    result = check("\n\n  \n".join(ids) + "\n" * 50, context=IdContext(sandbox="dev", check_known=False), limit=3)
    assert result.ok
    assert result.ids == tuple(ids)


def test_the_limit_comes_from_the_setting(settings):
    settings.FLOWADMIN_MAX_IDS = 2
    assert check(f"{KEPT}\n{NEW}").ok
    assert check(f"{KEPT}\n{NEW}\n{STRANGER}").problems == [TOO_MANY.format(count=3, limit=2)]


def test_one_line_of_five_megabytes_is_one_short_message():
    [problem] = check("a" * 5_000_000).problems
    assert problem.startswith("Line 1: “aaaa")
    assert "5,000,000 characters long" in problem
    assert len(problem) < 160


def test_a_form_only_check_accepts_ids_it_has_no_name_for():
    result = check(f"{STRANGER}\n{NEW}", context=IdContext(sandbox="", check_known=False))
    assert result.ok
    assert result.added == (STRANGER, NEW)


def test_a_long_line_is_cut_in_the_message():
    [problem] = check("x" * 500).problems
    assert len(problem) < 120
    assert "…" in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NEW, NEW),
        (NEW.upper(), NEW),
        (f"  {NEW}\t", NEW),
        (NEW.replace("-", ""), ""),
        (NEW + "0", ""),
        ("\u212a" + NEW[1:], ""),  # KELVIN SIGN lowers to ASCII k: still refused
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_ids_apply_keeps_the_order_and_each_id_once_in_a_long_list():
    current = [f"00000000-0000-4000-8000-{number:012d}" for number in range(50_000)]
    added = [f"11111111-0000-4000-8000-{number:012d}" for number in range(50_000)]
    result = ids_apply(current + current[:10], added=added + current[1:5], removed=current[:1])
    assert result == current[1:] + added


def test_ids_apply_drops_removed_and_appends_added_once():
    assert ids_apply([KEPT.upper(), USED], added=[NEW, KEPT], removed=[USED]) == [KEPT, NEW]


def test_the_picker_appends_on_a_line_of_its_own():
    assert ids_text_with(f"{KEPT}\n\n", NEW) == f"{KEPT}\n{NEW}"
    assert ids_text_with("", NEW) == NEW
