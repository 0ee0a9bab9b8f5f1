"""The veImageX-compatible detection service, without DRF: parameters, detection, async tasks
and metering. The HTTP layer lives in :mod:`imagex_dedup.service.views`."""
