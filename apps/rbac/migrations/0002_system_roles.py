from django.db import migrations

SYSTEM_ROLES = {
    "admin": "Everything, on every resource.",
    "operator": "View everything, execute actions, answer inquiries, cancel executions.",
    "viewer": "Read everything, change nothing.",
}


def create_system_roles(apps, schema_editor):
    Role = apps.get_model("rbac", "Role")
    for name, description in SYSTEM_ROLES.items():
        Role.objects.update_or_create(
            name=name, defaults={"description": description, "is_system": True}
        )


def delete_system_roles(apps, schema_editor):
    apps.get_model("rbac", "Role").objects.filter(is_system=True).delete()


class Migration(migrations.Migration):
    dependencies = [("rbac", "0001_initial")]

    operations = [migrations.RunPython(create_system_roles, delete_system_roles)]
