"""Admin for plans (imported by CollectionsAppConfig.ready)."""
