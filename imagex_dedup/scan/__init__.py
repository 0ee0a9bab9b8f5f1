"""Scanning a whole library on the django-q2 cluster, and healing lost checks.

A scan run (``ScanRun``) is cut into batches of one image field by primary-key range
(``planning``). Workers take batches one at a time with ``SELECT ... FOR UPDATE SKIP LOCKED``
(``handout``) and run two stages as two task kinds (``stages``): the fingerprint stage stores the
batch's fingerprints and index keys, the check stage then links each image's duplicates. The
periodic catch-up (``catchup``, installed as a django-q2 schedule by ``schedule``) enqueues again
the checks of saved images that never finished (the ``PendingCheck`` outbox, ``outbox``) and
resumes runs whose tasks were lost.
"""
