"""``/org/<slug>/audit/``: the organisation's audit log for its owners, filtered as the API filters it, with the CSV
export of the same selection."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied

from server.apps.audit.filtersets import AuditEntryFilterSet
from server.apps.audit.models import AuditEntry
from server.apps.audit.selectors import audit_entry_list, entry_action, entry_model
from server.apps.core.api.routers import api_url
from server.apps.core.views import ScopedPageView, paginate
from server.apps.org.models import Org

ENTRIES_PER_PAGE = 50


class OrgAuditView(ScopedPageView):
    model = Org
    lookup_url_kwarg = "org_slug"
    context_object_name = "org"
    template_name = "audit/list.html"

    def get_org(self) -> Org:
        return self.object

    def get(self, request, *args: Any, **kwargs: Any):
        if not self.can(AuditEntry, "view"):
            raise PermissionDenied("Only the organisation's owners read its audit log.")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        params = self.request.GET.copy()
        params.pop("page", None)
        filterset = AuditEntryFilterSet(
            params, queryset=audit_entry_list(user=self.request.user).filter(org=self.object)
        )
        selection = filterset.qs if filterset.is_valid() else AuditEntry.objects.none()
        entries = paginate(self.request, selection, per_page=ENTRIES_PER_PAGE)
        for entry in entries:
            entry.model_name = entry_model(entry)
            entry.action_name = entry_action(entry)
        export = {key: value for key, value in params.items() if value}
        export["org"] = self.object.slug
        context.update(
            entries=entries,
            filter_errors=filterset.errors,
            filters=params,
            export_url=f"{api_url('audit-export')}?{urlencode(export)}",
        )
        return context
