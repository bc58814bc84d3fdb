"""The reports page's form: a new report template."""

from __future__ import annotations

from django import forms

from server.apps.core.forms import DashboardForm, DateTimeField
from server.apps.report.models import ReportAggregation, ReportFormat


class ReportTemplateForm(DashboardForm):
    id_prefix = "report"

    label = forms.CharField(max_length=100, label="Name", help_text="e.g. “Weekly levels”.")
    project = forms.ChoiceField(label="Project")
    sources = forms.CharField(
        required=False,
        label="Streams",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "s--0000-0001--0000-0000-0000-0002--5001"}),
        help_text="Stream slugs, one a line; leave empty for every stream of the project.",
    )
    start = DateTimeField(required=False, label="From (UTC)", help_text="e.g. 2026-01-01 00:00; empty: the first.")
    end = DateTimeField(required=False, label="Until (UTC)", help_text="Not included; empty: the last reading.")
    aggregation = forms.ChoiceField(choices=ReportAggregation.choices, initial=ReportAggregation.RAW)
    format = forms.ChoiceField(choices=ReportFormat.choices, initial=ReportFormat.CSV)

    def __init__(self, *args, projects=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        project = self.fields["project"]
        assert isinstance(project, forms.ChoiceField)
        project.choices = [(p.slug, f"{p.name} ({p.slug})") for p in projects]

    def clean_sources(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["sources"].splitlines() if line.strip()]

    def service_fields(self) -> dict:
        names = ("label", "sources", "start", "end", "aggregation", "format")
        return {name: self.cleaned_data[name] for name in names}
