"""Named file stores: folders by default, S3 buckets when ``STORE_CONFIGURATION`` says so (docs/stores.md).

* ``server.apps.stores.backends.get_store(name) -> Storage``: the Django storage behind a store (cached).
* ``server.apps.stores.services``: ``store_file_save``, ``store_file_delete``.
* ``server.apps.stores.selectors``: ``store_file_read``, ``store_file_open``, ``store_file_exists``,
  ``store_file_size``, ``store_file_list``, ``store_file_url``.
"""
