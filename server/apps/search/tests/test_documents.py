"""The Elasticsearch backend without a cluster: documents' mappings and serialization, the queries as dicts, and
hits read back through the scoping queryset."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.test import override_settings
from elasticsearch import Elasticsearch
from elasticsearch.dsl.connections import connections

from server.apps.core.testing import make_member, make_org, make_user
from server.apps.org.roles import OPERATOR
from server.apps.search.backends import get_backend
from server.apps.search.backends.elasticsearch import ElasticsearchSearchBackend, build_search, visible_org_ids
from server.apps.search.backends.postgres import PostgresSearchBackend
from server.apps.search.documents import documents
from server.apps.search.indexing import OnCommitSignalProcessor, _run_logged
from server.apps.search.registry import registry
from server.apps.search.tests.factories import add_block, add_device, add_project, add_property

KEYWORD = {"type": "keyword"}
RAW = {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}}
COMMON = {"kind": KEYWORD, "slug": KEYWORD, "org_id": KEYWORD}


def mapping(kind: str) -> dict:
    return documents()[kind]._doc_type.mapping.to_dict()["properties"]


def test_one_document_per_index_named_from_the_settings():
    assert set(documents()) == set(registry) == {"device", "project", "datablock", "property"}
    for kind, document in documents().items():
        assert document._index._name == f"{settings.ELASTICSEARCH_INDEX_PREFIX}-{kind}"
        assert document.django.model is registry[kind].model
        assert document._index.to_dict()["settings"] == {"number_of_shards": 1}


def test_mappings():
    assert mapping("device") == {**COMMON, "label": {"type": "text"}, "external_id": RAW}
    assert mapping("project") == {**COMMON, "name": {"type": "text"}, "about": {"type": "text"}}
    assert mapping("datablock") == {**COMMON, "title": {"type": "text"}, "description": {"type": "text"}}
    assert mapping("property") == {**COMMON, "name": {"type": "text"}, "str_value": RAW}


@pytest.mark.django_db
def test_prepare_serializes_each_kind():
    org = make_org()
    device = add_device(org, label="Pump", external_id="SN-1")
    project = add_project(org, "Basin", about="Levels")
    block = add_block(org, device, title="Trip", description="Archive")
    prop = add_property(org, device, name="colour", value="blue")
    org_id = str(org.id)

    assert documents()["device"]().prepare(device) == {
        "kind": "device",
        "slug": device.slug,
        "org_id": org_id,
        "label": "Pump",
        "external_id": "SN-1",
    }
    assert documents()["project"]().prepare(project) == {
        "kind": "project",
        "slug": project.slug,
        "org_id": org_id,
        "name": "Basin",
        "about": "Levels",
    }
    assert documents()["datablock"]().prepare(block) == {
        "kind": "datablock",
        "slug": block.slug,
        "org_id": org_id,
        "title": "Trip",
        "description": "Archive",
    }
    assert documents()["property"]().prepare(prop) == {
        "kind": "property",
        "slug": device.slug,
        "org_id": org_id,
        "name": "colour",
        "str_value": "blue",
    }


@pytest.mark.django_db
def test_an_unclaimed_device_has_no_org_and_the_bulk_action_names_index_and_id():
    device = add_device(None, label="Spare")
    document = documents()["device"]()
    action = document._prepare_action(device, "index")
    assert action == {
        "_op_type": "index",
        "_index": f"{settings.ELASTICSEARCH_INDEX_PREFIX}-device",
        "_id": device.pk,
        "_source": {"kind": "device", "slug": device.slug, "org_id": None, "label": "Spare", "external_id": ""},
    }
    assert document._prepare_action(device, "delete")["_source"] is None


def test_query_for_a_word_a_slug_and_a_fragment():
    query = build_search(registry["device"], " d--12 ", ["org-1", "org-2"]).to_dict()
    should = query["query"]["bool"]["must"][0]["bool"]["should"]
    assert query["query"]["bool"]["filter"] == [{"terms": {"org_id": ["org-1", "org-2"]}}]
    assert query["query"]["bool"]["must"][0]["bool"]["minimum_should_match"] == 1
    assert should == [
        {
            "multi_match": {
                "query": "d--12",
                "type": "bool_prefix",
                "operator": "and",
                "fields": ["label^10", "external_id^4"],
            }
        },
        {"term": {"slug": {"value": "d--0000-0000-0000-0012", "boost": 20}}},
        {"wildcard": {"slug": {"value": "*d--12*", "case_insensitive": True, "boost": 5}}},
        {"wildcard": {"external_id.raw": {"value": "*d--12*", "case_insensitive": True, "boost": 5}}},
    ]
    assert query["size"] == 200
    assert query["_source"] is False


def test_query_for_staff_has_no_org_filter_and_fragments_are_escaped():
    query = build_search(registry["project"], "a*b?c", None).to_dict()
    assert "filter" not in query["query"]["bool"]
    should = query["query"]["bool"]["should"]
    assert should[-1] == {"wildcard": {"slug": {"value": "*a\\*b\\?c*", "case_insensitive": True, "boost": 5}}}
    assert build_search(registry["project"], "--", None) is None
    assert build_search(registry["project"], "  ", ["org-1"]) is None


@pytest.mark.django_db
def test_org_filter_is_the_users_memberships():
    org = make_org()
    make_org()
    assert visible_org_ids(org.created_by) == [str(org.id)]
    assert visible_org_ids(make_user(is_staff=True)) is None


@pytest.mark.django_db
def test_hits_are_read_back_through_the_scoping_queryset():
    org = make_org()
    device = add_device(org, label="Pump")
    prop = add_property(org, device, name="colour", value="blue")
    theirs = add_device(make_org(), label="Pump")
    backend = ElasticsearchSearchBackend()

    # What a cluster could return: the other organisation's device is dropped, the score is kept.
    results = backend.visible_results(registry["device"], org.created_by, {str(device.pk): 3.5, str(theirs.pk): 9.0})
    assert [(r.kind, r.slug, r.score, r.org) for r in results] == [("device", device.slug, 3.5, org.slug)]
    # An operator may see the device but not its properties.
    operator = make_member(org, OPERATOR)
    assert backend.visible_results(registry["property"], operator, {str(prop.pk): 1.0}) == []
    assert [r.slug for r in backend.visible_results(registry["property"], org.created_by, {str(prop.pk): 1.0})] == [
        device.slug
    ]


def test_the_backend_follows_the_setting():
    assert settings.SEARCH_BACKEND == "postgres"
    assert isinstance(get_backend(), PostgresSearchBackend)
    with override_settings(SEARCH_BACKEND="elasticsearch"):
        assert isinstance(get_backend(), ElasticsearchSearchBackend)


@pytest.mark.django_db
def test_index_updates_wait_for_the_commit(django_capture_on_commit_callbacks):
    documents()
    org = make_org()
    processor = OnCommitSignalProcessor(connections)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            device = add_device(org, label="Pump")
        assert len(callbacks) == 1
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            make_user()  # not a searched model
        assert callbacks == []
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            device.delete()
        assert len(callbacks) == 1
    finally:
        processor.teardown()


def test_a_failed_index_update_is_logged_not_raised(caplog):
    def unreachable(*args):
        raise ConnectionError("cluster away")

    with caplog.at_level(logging.ERROR, logger="server.apps.search.indexing"):
        _run_logged("update", "device.Device 1", unreachable)
    assert "search index update failed for device.Device 1" in caplog.text


@pytest.fixture
def unreachable_cluster():
    """The default connection pointed at a closed local port: every request is refused at once."""
    connections.add_connection("default", Elasticsearch("http://127.0.0.1:9", max_retries=0))
    yield
    connections.remove_connection("default")


@pytest.mark.django_db
def test_an_unreachable_cluster_falls_back_to_postgresql(unreachable_cluster, caplog):
    org = make_org()
    device = add_device(org, label="Pump")
    with caplog.at_level(logging.ERROR, logger="server.apps.search.backends.elasticsearch"):
        results = ElasticsearchSearchBackend().search(org.created_by, "pump")
    assert [(r.kind, r.slug) for r in results] == [("device", device.slug)]
    assert "answering from PostgreSQL" in caplog.text
