"""The configuration tab's forms (the tab is in ``tabs.py``): setting a value at the device's level and removing it,
for roles with ``can_modify_device``."""

from __future__ import annotations

from django.http import Http404

from server.apps.configattribute.forms import ConfigAttributeDeleteForm, ConfigAttributeForm
from server.apps.configattribute.selectors import config_attributes_for
from server.apps.configattribute.services import (
    config_attribute_create,
    config_attribute_delete,
    config_attribute_update,
)
from server.apps.configattribute.tabs import CONFIG_TAB
from server.apps.core.targets import target_for_object
from server.apps.device.views import DeviceTabFormAction


class ConfigFormAction(DeviceTabFormAction):
    """Setting or removing a device-level attribute is a change to the device (``can_modify_device``, which is
    what ``ConfigAttribute`` declares for device targets); the services check it again on the row."""

    tab = CONFIG_TAB
    scope_action = "change"


class ConfigAttributeSetView(ConfigFormAction):
    """Creates the device's attribute of that name, or changes the one it has."""

    form_class = ConfigAttributeForm
    form_name = "config_form"

    def form_valid(self, form):
        name, data, user = form.cleaned_data["name"], form.cleaned_data["data"], self.request.user
        existing = config_attributes_for(user=user, target=self.object).filter(name=name).first()
        if existing is not None:
            config_attribute_update(attribute=existing, user=user, data=data)
        else:
            config_attribute_create(user=user, target=target_for_object(self.object), name=name.name, data=data)
        return self.done(f"{name.name} set on {self.object.slug}.", self.tab_url())


class ConfigAttributeDeleteView(ConfigFormAction):
    """Removes the device's own value; the next level's, if any, applies again."""

    form_class = ConfigAttributeDeleteForm
    form_name = "config_delete_form"

    def check_permission(self) -> None:
        attributes = config_attributes_for(user=self.request.user, target=self.object)
        self.attribute = attributes.filter(pk=self.kwargs["attribute_id"]).first()
        if self.attribute is None:
            raise Http404
        self.require(self.attribute, "delete")

    def form_valid(self, form):
        config_attribute_delete(attribute=self.attribute)
        name = self.attribute.name.name
        return self.done(f"{name} removed from {self.object.slug}.", self.tab_url())
