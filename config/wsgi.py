import os
from io import StringIO

from django.core.checks import Tags
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
# Neither gunicorn nor runserver runs the database checks: run them here, so a server whose keys do not match the
# data (consent_app.checks) refuses to start instead of failing request after request. Raises SystemCheckError.
call_command("check", tags=[Tags.database], databases=["default"], stdout=StringIO())
