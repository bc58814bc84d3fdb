"""The device page's properties tab: the device's properties, and adding, changing and deleting them for roles
with ``can_modify_device_properties``."""

from __future__ import annotations

from django.http import Http404

from server.apps.core.targets import target_for_object
from server.apps.core.views import ScopedFormAction, paginate
from server.apps.device.views import DeviceSectionView, device_url
from server.apps.property.forms import PropertyDeleteForm, PropertyEditForm, PropertyForm
from server.apps.property.models import GenericProperty
from server.apps.property.selectors import properties_for
from server.apps.property.services import property_create, property_delete, property_update

PROPERTIES_PER_PAGE = 50


class DevicePropertiesView(DeviceSectionView):
    """``/org/<org>/device/<d-->/properties/``. The tab is hidden from roles without
    ``can_read_device_properties``, and its list is empty for them."""

    template_name = "property/device.html"
    section = "properties"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        properties = properties_for(user=self.request.user, target=self.object).order_by("name")
        context["properties"] = paginate(self.request, properties, param="properties", per_page=PROPERTIES_PER_PAGE)
        if self.can.add_genericproperty:
            context.setdefault("property_form", PropertyForm())
        return context


class PropertyFormAction(ScopedFormAction, DevicePropertiesView):
    """A form of the properties tab about one property (``<id>/edit/``, ``<id>/delete/``): the property must be
    one of the device's that the user reads (404 otherwise), and its model's declaration decides the write (403)."""

    def check_permission(self) -> None:
        prop = properties_for(user=self.request.user, target=self.object).filter(pk=self.kwargs["property_id"]).first()
        if prop is None:
            raise Http404
        self.property = prop
        self.require(prop, self.scope_action)

    def get_context_data(self, **kwargs):
        # A failed edit opens that property's row with what was sent and why it was refused.
        return {**super().get_context_data(**kwargs), "edit_property_id": self.property.pk}


class PropertyCreateView(ScopedFormAction, DevicePropertiesView):
    form_class = PropertyForm
    form_name = "property_form"
    scope_model = GenericProperty
    scope_action = "add"

    def form_valid(self, form):
        prop = property_create(
            user=self.request.user,
            target=target_for_object(self.object),
            name=form.cleaned_data["name"],
            value=form.value_for_service(),
            type=form.cleaned_data["type"] or None,
        )
        return self.done(f"Property “{prop.name}” added.", device_url(self.object, "property:device"))


class PropertyUpdateView(PropertyFormAction):
    form_class = PropertyEditForm
    form_name = "edit_form"
    scope_action = "change"

    def form_valid(self, form):
        prop = property_update(
            prop=self.property,
            name=form.cleaned_data["name"],
            value=form.value_for_service(),
            type=form.cleaned_data["type"] or None,
        )
        return self.done(f"Property “{prop.name}” saved.", device_url(self.object, "property:device"))


class PropertyDeleteView(PropertyFormAction):
    form_class = PropertyDeleteForm
    form_name = "property_delete_form"
    scope_action = "delete"

    def form_valid(self, form):
        property_delete(prop=self.property)
        return self.done(f"Property “{self.property.name}” deleted.", device_url(self.object, "property:device"))
