"""The device page's tabs: any app adds one by registering a :class:`DeviceTab` in its ``tabs.py``.

A tab is a declaration: its name (its URL segment ``/org/<org>/device/<d-->/<name>/`` and URL name
``device:<name>``), its label and icon, its place among the tabs, who sees it in the tab bar, its template, and the
function that reads what the template shows. ``device.views.DeviceTabView`` serves every tab the same way: the
device looked up in the user's scope (404 outside it), a lenient slug redirected, the page's header and tabs, then
the tab's context. ``device/urls.py`` makes one URL per registered tab. The device app itself knows none of them.

The device app's ``ready()`` imports the ``tabs.py`` of every installed app, so the registry is complete, and fixed,
before the URLs are read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Model
from django.urls import reverse
from django.utils.module_loading import autodiscover_modules

if TYPE_CHECKING:
    from server.apps.core.views import Abilities
    from server.apps.device.models import Device

# The device page's URL; a tab's is ``<name>/`` below it.
DEVICE_ROUTE = "org/<slug:org_slug>/device/<str:device_slug>/"
# The device page's own URL names: a tab may not take one.
RESERVED_NAMES = frozenset({"detail", "edit", "unclaim", "reports", "replace", "key", "key-download"})


@dataclass(frozen=True)
class DeviceTab:
    """One tab of the device page.

    ``permission`` is ``(model, action)``: the tab shows in the tab bar when the user may ``action`` that model in
    the device's organisation (what the model's ``scope_permissions`` declare), and always when it is ``None``. It
    only hides the link: the page itself is open to whoever sees the device, and shows what the role may read.
    ``context(request=, device=, can=)`` returns the template's variables; a form it offers is a default, which a
    failed form action replaces with the bound form; its template reads the declared abilities as ``can.<name>``
    (core.scoping.Ability). ``queries`` is what serving the tab costs its organisation's owner, with one row or
    many: the tab's ``DeviceTabCases`` pin it (``device/tests/tab_cases.py``).
    """

    name: str
    label: str
    icon: str
    template_name: str
    context: Callable[..., dict[str, Any]]
    queries: int
    order: int = 100
    permission: tuple[type[Model], str] | None = None

    @property
    def route(self) -> str:
        """The tab's URL pattern (for ``path()``), which its form actions extend: ``f"{TAB.route}add/"``."""
        return f"{DEVICE_ROUTE}{self.name}/"

    @property
    def url_name(self) -> str:
        return f"device:{self.name}"

    def url(self, device: Device) -> str:
        assert device.org is not None, "only a claimed device has pages"
        return reverse(self.url_name, kwargs={"org_slug": device.org.slug, "device_slug": device.slug})

    def visible(self, can: Abilities) -> bool:
        if self.permission is None:
            return True
        model, action = self.permission
        return can(model, action)


# name -> tab; filled by the apps' tabs.py when the apps are ready, fixed afterwards.
registry: dict[str, DeviceTab] = {}


def register_device_tab(tab: DeviceTab) -> DeviceTab:
    """Adds ``tab`` to the device page and returns it (a tab's form actions name it as their ``tab``)."""
    if not tab.name.replace("-", "").isalnum() or tab.name != tab.name.lower():
        raise ValueError(f"device tab {tab.name!r}: the name is a URL segment, lower-case letters, digits and '-'")
    if tab.name in RESERVED_NAMES:
        raise ValueError(f"device tab {tab.name!r}: the device page uses that name itself")
    if tab.name in registry and registry[tab.name] != tab:
        raise ValueError(f"device tab {tab.name!r} is registered twice")
    registry[tab.name] = tab
    return tab


def device_tabs() -> list[DeviceTab]:
    """Every registered tab, in the order the tab bar shows them."""
    return sorted(registry.values(), key=lambda tab: (tab.order, tab.name))


def autodiscover() -> None:
    """Import ``tabs.py`` of every installed app that has one."""
    autodiscover_modules("tabs")
