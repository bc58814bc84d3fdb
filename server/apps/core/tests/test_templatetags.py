"""``{% embed %}``: an include whose template also takes markup in named slots."""

from __future__ import annotations

import pytest
from django.template import Context, Engine, TemplateSyntaxError

FRAME = '<div class="{{ tone }}">[{{ title }}]{% if actions %}<nav>{{ actions }}</nav>{% endif %}{{ body }}</div>'


def engine(**templates: str) -> Engine:
    return Engine(
        loaders=[("django.template.loaders.locmem.Loader", {"frame.html": FRAME, **templates})],
        libraries={"dashboard": "server.apps.core.templatetags.dashboard"},
    )


def render(source: str, **context) -> str:
    return engine(page=source).get_template("page").render(Context(context))


def test_slots_render_in_the_pages_context_next_to_the_with_values():
    html = render(
        '{% load dashboard %}{% embed "frame.html" with tone="card" title=name|upper %}'
        "{% slot body %} <b>{{ name }}</b> & {{ note }} {% endslot %}"
        "{% slot actions %}<a>{{ name }}</a>{% endslot %}"
        "{% endembed %}",
        name="pump",
        note="<i>",
    )
    # Slots are stripped and escaped as the page's own markup is; the with values go through their filters.
    assert html == '<div class="card">[PUMP]<nav><a>pump</a></nav><b>pump</b> & &lt;i&gt;</div>'


def test_a_slot_left_out_or_rendering_nothing_is_false():
    html = render(
        '{% load dashboard %}{% embed "frame.html" with title="t" %}'
        "{% slot actions %} {% if allowed %}<a>edit</a>{% endif %} {% endslot %}"
        "{% endembed %}",
        allowed=False,
    )
    assert html == '<div class="">[t]</div>'


def test_the_template_also_sees_the_pages_context_and_a_loop_renders_the_slots_each_time():
    html = render(
        '{% load dashboard %}{% for item in items %}{% embed "frame.html" %}'
        "{% slot body %}{{ forloop.counter }}:{{ item }}{% endslot %}"
        "{% endembed %}{% endfor %}",
        items=["a", "b"],
        title="shared",
    )
    assert html == '<div class="">[shared]1:a</div><div class="">[shared]2:b</div>'


def test_the_slot_names_do_not_leak_into_the_page():
    html = render('{% load dashboard %}{% embed "frame.html" %}{% slot title %}x{% endslot %}{% endembed %}{{ title }}')
    assert html == '<div class="">[x]</div>'


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('{% embed "frame.html" %}text{% endembed %}', "only {% slot name %}"),
        ('{% embed "frame.html" %}{% if x %}{% endif %}{% endembed %}', "only {% slot name %}"),
        ('{% embed "frame.html" %}{% slot a %}{% endslot %}{% slot a %}{% endslot %}{% endembed %}', "once per embed"),
        ('{% embed "frame.html" %}{% slot %}{% endslot %}{% endembed %}', "one name"),
        ('{% embed "frame.html" %}{% slot a b %}{% endslot %}{% endembed %}', "one name"),
        ('{% embed "frame.html" with title="t" only %}{% endembed %}', "does not take 'only'"),
        ('{% embed "frame.html" %}{% slot a %}', "endslot"),
        ('{% embed "frame.html" %}', "endembed"),
        ("{% slot a %}{% endslot %}", "slot"),
        ("{% embed %}{% endembed %}", "at least one argument"),
    ],
)
def test_malformed_embeds_fail_when_the_template_is_compiled(source, message):
    with pytest.raises(TemplateSyntaxError, match=message.replace("{", r"\{").replace("}", r"\}")):
        engine(page="{% load dashboard %}" + source).get_template("page")
