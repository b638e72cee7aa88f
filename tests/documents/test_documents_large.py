from flowadmin import documents


def test_line_diff_of_a_large_document_shows_just_the_added_id():
    document = {
        "id": "large",
        "sourceConnectionSpecIds": [f"id-{n:04d}" for n in range(1000)],
        "optionSpec": {"properties": {f"field{n:05d}": {"type": "string", "enum": ["a", "b"]} for n in range(5000)}},
    }
    proposed = documents.with_source_ids(document, [*documents.source_ids(document), "id-new"])

    lines = documents.line_diff(document, proposed, context=0)

    assert [(line.kind, line.text.strip()) for line in lines if line.kind != "hunk"] == [
        ("del", '"id-0999"'),
        ("add", '"id-0999",'),
        ("add", '"id-new"'),
    ]


def test_the_whole_document_folds_long_unchanged_runs_and_keeps_every_line():
    document = {
        "id": "large",
        "optionSpec": {"properties": {f"field{n:05d}": {"type": "string"} for n in range(500)}},
        "sourceConnectionSpecIds": [f"id-{n:04d}" for n in range(100)],
        "zeta": [1, 2, 3],
    }
    proposed = documents.with_source_ids(document, ["id-new", *documents.source_ids(document)])

    items = documents.LineDiff(document, proposed).whole(context=3, fold_over=40)

    folds = [item for item in items if isinstance(item, documents.FoldedRun)]
    assert [len(fold.lines) for fold in folds] == [1504, 104], "the runs before and after the change, less 3 lines"
    shown = [item for item in items if not isinstance(item, documents.FoldedRun)]
    assert [(line.kind, line.text.strip()) for line in shown if line.kind in ("add", "del")] == [("add", '"id-new",')]
    new_lines = []
    for item in items[1:]:
        if isinstance(item, documents.FoldedRun):
            assert item.new_no == len(new_lines) + 1
            new_lines += item.lines
        elif item.kind != "del":
            assert item.new_no == len(new_lines) + 1
            new_lines.append(item.text)
    assert new_lines == documents.pretty_json(proposed).split("\n")


def test_a_diff_reads_only_the_values_that_changed_and_the_lines_around_them(monkeypatch):
    from flowadmin.documents import diff as module

    printed = []
    real = module.pretty
    monkeypatch.setattr(module, "pretty", lambda value, indent="": printed.append(value) or real(value, indent))
    document = {
        "id": "large",
        "optionSpec": {"properties": {f"field{n:05d}": {"type": "string"} for n in range(500)}},
        "sourceConnectionSpecIds": [f"id-{n:04d}" for n in range(100)],
        "zeta": [1, 2, 3],
    }
    proposed = documents.with_source_ids(document, [*documents.source_ids(document), "id-new"])

    lines = documents.LineDiff(document, proposed).hunks()

    assert [line.text.strip() for line in lines if line.kind == "add"] == ['"id-0099",', '"id-new"']
    first = documents.pretty_json(document).split("\n").index('    "id-0099"') + 1 - 3  # 3 lines of context
    assert lines[0].text == f"@@ -{first},7 +{first},8 @@", "line numbers count the lines of the values not printed"
    assert document["optionSpec"] not in printed, "the value both share is counted, not printed"
    assert documents.pretty_text(proposed).text == documents.pretty_json(proposed)
