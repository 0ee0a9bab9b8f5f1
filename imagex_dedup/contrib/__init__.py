"""Integrations with media libraries: each sub-package is a Django app to add to INSTALLED_APPS."""
