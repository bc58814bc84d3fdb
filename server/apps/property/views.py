"""The properties tab's forms (the tab is in ``tabs.py``): adding, changing and deleting the device's properties for
roles with ``can_modify_device_properties``."""

from __future__ import annotations

from django.http import Http404

from server.apps.core.targets import target_for_object
from server.apps.device.views import DeviceTabFormAction
from server.apps.property.forms import PropertyDeleteForm, PropertyEditForm, PropertyForm
from server.apps.property.models import GenericProperty
from server.apps.property.selectors import properties_for
from server.apps.property.services import property_create, property_delete, property_update
from server.apps.property.tabs import PROPERTIES_TAB


class PropertyFormAction(DeviceTabFormAction):
    """A form of the properties tab about one property (``<id>/edit/``, ``<id>/delete/``): the property must be
    one of the device's that the user reads (404 otherwise), and its model's declaration decides the write (403)."""

    tab = PROPERTIES_TAB

    def check_permission(self) -> None:
        prop = properties_for(user=self.request.user, target=self.object).filter(pk=self.kwargs["property_id"]).first()
        if prop is None:
            raise Http404
        self.property = prop
        self.require(prop, self.scope_action)

    def get_context_data(self, **kwargs):
        # A failed edit opens that property's row with what was sent and why it was refused.
        return {**super().get_context_data(**kwargs), "edit_property_id": self.property.pk}


class PropertyCreateView(DeviceTabFormAction):
    tab = PROPERTIES_TAB
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
        return self.done(f"Property “{prop.name}” added.", self.tab_url())


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
        return self.done(f"Property “{prop.name}” saved.", self.tab_url())


class PropertyDeleteView(PropertyFormAction):
    form_class = PropertyDeleteForm
    form_name = "property_delete_form"
    scope_action = "delete"

    def form_valid(self, form):
        property_delete(prop=self.property)
        return self.done(f"Property “{self.property.name}” deleted.", self.tab_url())
