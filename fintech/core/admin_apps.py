"""django.contrib.admin's app config with our site (its own module: an apps module may hold
only one default AppConfig, and this one must import nothing that needs models)."""

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """django.contrib.admin with our site as `admin.site`, so every ModelAdmin registered with
    @admin.register sits behind the staff second factor without naming a site."""

    default_site = "fintech.core.admin_site.StaffAdminSite"
