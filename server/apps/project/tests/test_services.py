import pytest

from server.apps.core.errors import ApplicationError, ConflictError
from server.apps.core.slugs import project_slug
from server.apps.core.testing import make_org, make_user
from server.apps.project.models import Project
from server.apps.project.selectors import project_list_for_org, project_list_for_user
from server.apps.project.services import project_create, project_delete, project_update


def test_create_gives_a_gid_and_slug(db):
    org = make_org()
    project = project_create(org=org, name="P", created_by=org.created_by)
    assert project.gid > 0
    assert project.slug == project_slug(project.gid)


def test_names_are_unique_per_org_ignoring_case(db):
    org, other = make_org(), make_org()
    project_create(org=org, name="Name", created_by=org.created_by)
    with pytest.raises(ApplicationError) as caught:
        project_create(org=org, name="NAME", created_by=org.created_by)
    assert "name" in caught.value.extra
    project_create(org=other, name="Name", created_by=other.created_by)
    assert Project.objects.filter(name__iexact="name").count() == 2


def test_update_keeps_ids(db):
    org = make_org()
    project = project_create(org=org, name="Old", created_by=org.created_by)
    gid, slug = project.gid, project.slug
    project_update(project=project, name="New", about="About")
    project.refresh_from_db()
    assert (project.name, project.about, project.gid, project.slug) == ("New", "About", gid, slug)


def test_update_to_a_taken_name_is_refused(db):
    org = make_org()
    project_create(org=org, name="Taken", created_by=org.created_by)
    project = project_create(org=org, name="Mine", created_by=org.created_by)
    with pytest.raises(ApplicationError):
        project_update(project=project, name="taken")
    project.refresh_from_db()
    assert project.name == "Mine"


def test_delete(db):
    org = make_org()
    project = project_create(org=org, name="Gone", created_by=org.created_by)
    project_delete(project=project)
    assert not Project.objects.filter(pk=project.pk).exists()


def test_delete_with_devices_is_refused(db):
    from server.apps.device.services import device_claim, device_create

    org = make_org()
    project = project_create(org=org, name="Busy", created_by=org.created_by)
    staff = make_user(is_staff=True)
    device_claim(user=staff, device=device_create(created_by=staff).id, project=project)
    with pytest.raises(ConflictError):
        project_delete(project=project)
    assert Project.objects.filter(pk=project.pk).exists()


def test_selectors_are_scoped(db):
    org, other = make_org(), make_org()
    mine = project_create(org=org, name="Mine", created_by=org.created_by)
    project_create(org=other, name="Theirs", created_by=other.created_by)
    assert list(project_list_for_user(user=org.created_by)) == [mine]
    assert list(project_list_for_org(user=org.created_by, org=other)) == []
    assert project_list_for_user(user=make_user(is_staff=True)).count() == 2
