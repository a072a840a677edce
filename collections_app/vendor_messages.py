"""Messages other packages show on the desk's admin pages and ship no Simplified Chinese for (django-axes's sign-in
records; a few of Django's newer admin texts). Listed here so that the desk's catalogue (locale/zh_Hans), which
Django reads before any package's, translates them; nothing calls this module."""

from django.utils.translation import gettext_noop

MESSAGES = (
    # django-axes: its models and their fields.
    gettext_noop("access attempt"), gettext_noop("access attempts"),
    gettext_noop("access failure"), gettext_noop("access failures"),
    gettext_noop("access log"), gettext_noop("access logs"),
    gettext_noop("access attempt expiration"), gettext_noop("access attempt expirations"),
    gettext_noop("User Agent"), gettext_noop("IP Address"), gettext_noop("Username"), gettext_noop("HTTP Accept"),
    gettext_noop("Path"), gettext_noop("Attempt Time"), gettext_noop("Access lock out"), gettext_noop("GET Data"),
    gettext_noop("POST Data"), gettext_noop("Failed Logins"), gettext_noop("Access Attempt"),
    gettext_noop("Expires At"), gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("Logout Time"), gettext_noop("Session key hash (sha256)"), gettext_noop("Locked Out"),
    gettext_noop("Meta Data"), gettext_noop("Form Data"), gettext_noop("Clean up expired attempts"),
    gettext_noop("Not set"), gettext_noop("Attempt Remaining"),
    # Django's user admin.
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
    gettext_noop("If disabled, the current password for this user will be lost."),
)
