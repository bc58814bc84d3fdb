"""The dashboard's search page: ``/search/?q=``, the hits grouped by kind, from the user's organisations only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from server.apps.search.links import object_url
from server.apps.search.selectors import MAX_QUERY_LENGTH, search_results

PAGE_SIZE = 50
KIND_NAMES = {"device": "Devices", "project": "Projects", "datablock": "Data blocks", "property": "Properties"}
KIND_ICONS = {"device": "cpu", "project": "kanban", "datablock": "archive", "property": "tags"}


@login_required
def search(request):
    text = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    context = {"q": text, "page": None, "groups": []}
    if text:
        page = Paginator(search_results(user=request.user, text=text), PAGE_SIZE).get_page(request.GET.get("page"))
        groups: dict[str, list] = {}
        # Kinds in the order of their best hit, hits in score order within each.
        for result in page.object_list:
            groups.setdefault(result.kind, []).append((result, result.org and object_url("org", result.org)))
        context["page"] = page
        context["groups"] = [
            {"kind": kind, "name": KIND_NAMES.get(kind, kind), "icon": KIND_ICONS.get(kind, "search"), "results": hits}
            for kind, hits in groups.items()
        ]
    return render(request, "search/results.html", context)
