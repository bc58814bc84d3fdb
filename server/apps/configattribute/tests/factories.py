"""Config names and attributes for the tests, made through the real services."""

from __future__ import annotations

from server.apps.configattribute.models import ConfigAttribute, ConfigAttributeName
from server.apps.configattribute.services import config_attribute_create, config_name_create
from server.apps.core.targets import target_for_object
from server.apps.core.testing import make_user


def config_name(name: str = ":report:summary") -> ConfigAttributeName:
    found = ConfigAttributeName.objects.filter(name=name).first()
    return found or config_name_create(created_by=make_user(is_staff=True), name=name)


def set_config(target_obj, name: str, data, user=None) -> ConfigAttribute:
    target = target_for_object(target_obj)
    user = user or (target.obj if target.user else target.org.created_by)
    return config_attribute_create(user=user, target=target, name=config_name(name).name, data=data)
