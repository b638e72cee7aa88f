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
