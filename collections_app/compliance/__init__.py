"""The compliance officers' desk pages: the audit trail search and its CSV exports (audit events, contact
attempts), and the account list with its filters."""
