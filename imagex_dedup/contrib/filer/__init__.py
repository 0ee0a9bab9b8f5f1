"""Near-duplicates for django-filer's image library.

Add ``"imagex_dedup.contrib.filer"`` to ``INSTALLED_APPS`` (after ``filer``): filer's image model
(``FILER_IMAGE_MODEL``) is watched without further settings; merges re-point ``FilerImageField``
(foreign keys, done by the core merge) and ``FilerFileField`` references (see :mod:`.rewriter`).
"""
