"""``/org/<slug>/telemetry/raw/``: the organisation's raw message log, searched by device and received time as the
API filters it (``rawmessage/``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from server.apps.core.views import ScopedPageView, paginate
from server.apps.org.models import Org
from server.apps.telemetry.filtersets import RawMessageFilterSet
from server.apps.telemetry.models import RawMessage
from server.apps.telemetry.selectors import raw_message_list

MESSAGES_PER_PAGE = 50


class RawMessageListView(ScopedPageView):
    model = Org
    lookup_url_kwarg = "org_slug"
    context_object_name = "org"
    template_name = "telemetry/raw_list.html"

    def get_org(self) -> Org:
        return self.object

    def get(self, request, *args: Any, **kwargs: Any):
        if not self.can(RawMessage, "view"):
            raise PermissionDenied("Reading the raw message log needs the right to read stream data.")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        params = self.request.GET.copy()
        params.pop("page", None)
        filterset = RawMessageFilterSet(
            params, queryset=raw_message_list(user=self.request.user).filter(org=self.object)
        )
        selection = filterset.qs if filterset.is_valid() else RawMessage.objects.none()
        context.update(
            messages_page=paginate(self.request, selection, per_page=MESSAGES_PER_PAGE),
            filter_errors=filterset.errors,
            filters=params,
        )
        return context
