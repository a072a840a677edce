"""Admin for complaints (imported by CollectionsAppConfig.ready)."""
