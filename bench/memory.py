"""Peak memory of a CSV export, in a process of its own (``python -m bench.memory --until ISO``).

Signs in as the auditor, downloads ``/audit/export.csv?until=...`` through Django's test client,
reading the stream chunk by chunk as a server would send it. Prints JSON: peak RSS before the
export (after start-up and one tiny export) and after it.
"""

from __future__ import annotations

import argparse
import json
from urllib.parse import urlencode

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--until", required=True)
    parser.add_argument("--auditor", default="bench-auditor")
    args = parser.parse_args()
    django.setup()

    from django.contrib.auth import get_user_model
    from django.test import Client

    from bench.procinfo import peak_rss_kb

    client = Client()
    client.force_login(get_user_model().objects.get(username=args.auditor))

    def export(query: dict) -> tuple[int, int]:
        response = client.get("/audit/export.csv?" + urlencode(query))
        assert response.status_code == 200, response.status_code
        size = rows = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            rows += chunk.count(b"\n")
        response.close()
        return size, rows

    export({"until": "2000-01-01"})  # warm: imports, templates, connection
    before = peak_rss_kb()
    size, rows = export({"until": args.until})
    print(
        json.dumps(
            {
                "until": args.until,
                "bytes": size,
                "lines": rows,
                "peak_before_kb": before,
                "peak_after_kb": peak_rss_kb(),
            }
        )
    )


if __name__ == "__main__":
    main()
