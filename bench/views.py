"""The floor every page is compared with: signed in, renders base.html, no queries of its own."""

from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def floor(request):
    return render(request, "bench/floor.html")
