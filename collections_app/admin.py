"""Every collections area keeps its admin in its own package; Django's admin autodiscovery imports this module,
which imports them so they register."""

from .api import admin as api_admin  # noqa: F401
from .complaints import admin as complaints_admin  # noqa: F401
from .compliance import admin as compliance_admin  # noqa: F401
from .contact import admin as contact_admin  # noqa: F401
from .incidents import admin as incidents_admin  # noqa: F401
from .loans import admin as loans_admin  # noqa: F401
from .messaging import admin as messaging_admin  # noqa: F401
from .plans import admin as plans_admin  # noqa: F401
from .staff import admin as staff_admin  # noqa: F401
