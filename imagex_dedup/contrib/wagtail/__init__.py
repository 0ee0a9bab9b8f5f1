"""Near-duplicates for Wagtail's image library.

Add ``"imagex_dedup.contrib.wagtail"`` to ``INSTALLED_APPS`` (after ``wagtail.images``): the
site's image model (``wagtail.images.get_image_model()``) is watched without further settings, and
merges re-point every reference Wagtail's reference index knows about (see :mod:`.rewriter`).
"""
