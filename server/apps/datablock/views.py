"""Data block pages: archiving a device from its page (the worker moves the data, the block's page follows its
progress), the block's page (progress, streams with their reading counts and links to their data, properties,
notes, deleting) and the organisation's list of blocks."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views import View

from server.apps.core.forms import ButtonForm
from server.apps.core.slugs import SlugError, parse_device_slug
from server.apps.core.views import ScopedFormAction, ScopedPageMixin, ScopedPageMixinBase, ScopedPageView, paginate
from server.apps.datablock.forms import DataBlockForm
from server.apps.datablock.models import ArchiveStatus, DataBlock
from server.apps.datablock.selectors import datablock_list, datablock_lookup
from server.apps.datablock.services import datablock_create, datablock_delete
from server.apps.device.views import DeviceFormAction, device_url
from server.apps.org.models import Org
from server.apps.property.models import GenericProperty
from server.apps.property.selectors import properties_for
from server.apps.stream.models import StreamId
from server.apps.stream.selectors import stream_list
from server.apps.streamdata.models import StreamData
from server.apps.streamnote.models import StreamNote
from server.apps.streamnote.selectors import notes_for

BLOCKS_PER_PAGE = 25
BLOCK_NOTES = 20


def datablock_url(block: DataBlock, name: str = "detail") -> str:
    return reverse(f"datablock:{name}", kwargs={"org_slug": block.org.slug, "block_slug": block.slug})


def block_progress(block: DataBlock) -> dict:
    return {
        "status": block.status,
        "status_label": block.get_status_display(),
        "progress": block.progress,
        "done": block.status == ArchiveStatus.COMPLETED,
    }


class DataBlockCreateView(DeviceFormAction):
    """The device page's "Archive data" form: ``datablock_create`` turns the device busy and queues the worker's
    ``ArchiveDevice``; the browser goes to the block's page, which follows the progress."""

    form_class = DataBlockForm
    form_name = "archive_form"
    scope_model = DataBlock
    scope_action = "add"

    def form_valid(self, form):
        block = datablock_create(user=self.request.user, device=self.object, **form.service_fields())
        return self.done(f"Archiving {self.object.slug} into {block.slug}.", datablock_url(block))


class DataBlockPageMixin(ScopedPageMixinBase):
    """The block named in the URL (``b--`` or the clients' four-group ``d--`` form) in the URL's organisation,
    among those the user may access (``can_access_datablock``); 404 otherwise."""

    model = DataBlock
    lookup_url_kwarg = "block_slug"
    context_object_name = "datablock"

    def get_queryset(self):
        return super().get_queryset().select_related("org", "device", "device__org", "sg", "created_by")

    def object_lookup(self, value: str) -> dict:
        return {**datablock_lookup(value), "org__slug": self.kwargs["org_slug"]}


class DataBlockDetailView(DataBlockPageMixin, ScopedPageView):
    """``/org/<org>/datablock/<b-->/``. While the worker archives, a progress bar polls ``progress.json``; once
    complete, the block's streams with their reading counts (one grouped query on the streamdata database), its
    properties and its notes."""

    template_name = "datablock/detail.html"

    def get(self, request, *args, **kwargs):
        if kwargs["block_slug"] != self.object.slug:
            return HttpResponseRedirect(datablock_url(self.object))
        return super().get(request, *args, **kwargs)

    def block_streams(self) -> list[StreamId]:
        streams = list(stream_list(user=self.request.user).filter(block=self.object).order_by("var_lid"))
        counts = {}
        if streams and self.can(StreamId, "read_data"):
            slugs = {stream.series: stream.slug for stream in streams}
            rows = (
                StreamData.objects.filter(series__in=list(slugs))
                .order_by()
                .values("series")
                .annotate(count=Count("id"))
                .values_list("series", "count")
            )
            counts = {slugs[series]: count for series, count in rows}
        for stream in streams:
            # A figure for the page's table only, set on the rows it shows.
            stream.reading_count = counts.get(stream.slug, 0)  # type: ignore[attr-defined]
        return streams

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        block, user, can = self.object, self.request.user, self.can
        completed = block.status == ArchiveStatus.COMPLETED
        context.update(
            completed=completed,
            progress=block_progress(block),
            progress_url=datablock_url(block, "progress"),
            device_url=device_url(block.device),
        )
        if completed:
            context["streams"] = self.block_streams()
            if can(GenericProperty, "view"):
                context["properties"] = list(properties_for(user=user, target=block).order_by("name"))
            if can(StreamNote, "view"):
                context["notes"] = list(notes_for(user=user, target=block).order_by("-timestamp", "-id")[:BLOCK_NOTES])
            if can(DataBlock, "delete"):
                context.setdefault("delete_form", ButtonForm())
        return context


class DataBlockProgressView(DataBlockPageMixin, ScopedPageMixin, View):
    """``progress.json``: the block's status and progress, which its page polls while the worker archives."""

    def get(self, request, *args, **kwargs):
        return JsonResponse(block_progress(self.get_object()))


class DataBlockDeleteView(ScopedFormAction, DataBlockDetailView):
    """Deletes a completed block with its streams, data and metadata (``can_delete_datablock``)."""

    form_class = ButtonForm
    form_name = "delete_form"
    scope_action = "delete"

    def form_valid(self, form):
        block = self.object
        deleted = datablock_delete(block=block)
        return self.done(f"Data block {block.slug} deleted with {deleted} data rows.", device_url(block.device))


class OrgDataBlockListView(ScopedPageView):
    """``/org/<org>/datablocks/``: the organisation's data blocks, newest first, searched by title or description
    (``?q=``) and narrowed to a device (``?device=``); a role without ``can_access_datablock`` sees a note."""

    model = Org
    lookup_url_kwarg = "org_slug"
    context_object_name = "org"
    template_name = "datablock/list.html"

    def get_org(self):
        return self.object

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        blocks = datablock_list(user=self.request.user).filter(org=self.object).order_by("-created_on", "-id")
        query = self.request.GET.get("q", "").strip()
        if query:
            blocks = blocks.filter(Q(title__icontains=query) | Q(description__icontains=query))
        device = self.request.GET.get("device", "").strip()
        if device:
            try:
                blocks = blocks.filter(device_id=parse_device_slug(device))
            except SlugError:
                blocks = blocks.none()
        context.update(
            blocks=paginate(self.request, blocks, param="page", per_page=BLOCKS_PER_PAGE)
            if self.can(DataBlock, "view")
            else None,
            query=query,
            device_filter=device,
        )
        return context
