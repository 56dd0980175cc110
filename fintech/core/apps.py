from django.apps import AppConfig
from django.core.signals import request_finished
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "fintech.core"
    label = "core"
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from fintech.core.redis_client import send_after_response
        from fintech.core.security import lockout_audit
        from fintech.core.staff import staff_groups_sync
        from fintech.core.two_factor import staff_login_audit, staff_login_failure_audit

        # Keep role groups in step with models added after the migration that made them.
        post_migrate.connect(staff_groups_sync, dispatch_uid="fintech.core.staff_groups_sync")
        user_locked_out.connect(lockout_audit, dispatch_uid="fintech.core.security.lockout_audit")
        user_logged_in.connect(staff_login_audit, dispatch_uid="fintech.core.staff_login_audit")
        user_login_failed.connect(
            staff_login_failure_audit, dispatch_uid="fintech.core.staff_login_failure_audit"
        )
        request_finished.connect(
            send_after_response, dispatch_uid="fintech.core.redis_client.send_after_response"
        )
