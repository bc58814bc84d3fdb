"""The device page's configuration tab: for each config name that applies to the device, the value and the level
it comes from (the device, its project, its organisation or the user), as ``config/attr/search/`` resolves it;
setting a value at the device's level and removing it for roles with ``can_modify_device``."""

from __future__ import annotations

from django.http import Http404

from server.apps.configattribute.forms import ConfigAttributeDeleteForm, ConfigAttributeForm, json_text
from server.apps.configattribute.selectors import config_attributes_for, config_attributes_resolved
from server.apps.configattribute.services import (
    config_attribute_create,
    config_attribute_delete,
    config_attribute_update,
)
from server.apps.core import targets
from server.apps.core.targets import target_for_object
from server.apps.core.views import ScopedFormAction
from server.apps.device.views import DeviceSectionView, device_url

LEVELS = {
    targets.DEVICE: "This device",
    targets.PROJECT: "Project",
    targets.ORG: "Organisation",
    targets.USER: "You",
}


class DeviceConfigView(DeviceSectionView):
    """``/org/<org>/device/<d-->/config/``: the resolved attributes, one query whatever the number of levels."""

    template_name = "configattribute/device.html"
    section = "config"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        attributes = config_attributes_resolved(user=self.request.user, target=self.object)
        for attribute in attributes:
            attribute.level = LEVELS.get(attribute.target_kind, attribute.target_kind)
            attribute.on_device = attribute.target == self.object.slug
            attribute.data_text = json_text(attribute.data)
        context["attributes"] = attributes
        if self.can.change_device:
            context.setdefault("config_form", ConfigAttributeForm())
        return context


class ConfigFormAction(ScopedFormAction, DeviceConfigView):
    """Setting or removing a device-level attribute is a change to the device (``can_modify_device``, which is
    what ``ConfigAttribute`` declares for device targets); the services check it again on the row."""

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
        return self.done(f"{name.name} set on {self.object.slug}.", device_url(self.object, "configattribute:device"))


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
        return self.done(f"{name} removed from {self.object.slug}.", device_url(self.object, "configattribute:device"))
