from django.http import HttpRequest

from .permissions import role_of


def roles(request: HttpRequest) -> dict[str, str | None]:
    """The signed-in user's role, for role-aware navigation."""
    user = getattr(request, "user", None)
    return {"role": role_of(user) if user is not None and user.is_authenticated else None}
