"""Django admin for compliance officers: borrowers, numbers, third parties, consents, restrictions, inconvenient
times. `toolkit` holds the rules every admin of the project follows (masking, blind-index search, services only,
access scopes); the other modules register one area each."""

from . import borrowers, consents, phones, restrictions  # noqa: F401  (registers the admins)
