from django.apps import AppConfig


class DatastoreConfig(AppConfig):
    name = "apps.datastore"
    label = "datastore"

    def ready(self):
        from apps.datastore.workflows import register

        register()  # st2kv() in workflow expressions
